// Checks that a Hugging Face checkpoint folder exists, with one message for every reader.

export const HF_FOLDER_LAYOUT =
  "a Hugging Face checkpoint folder holds config.json, model.safetensors (or model.safetensors.index.json and its shards), tokenizer.json and tokenizer_config.json";

/** Throws `Cannot <action> from "dir": ...` unless `dir` is an existing folder. */
export async function requireFolder(dir: string, action: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot ${action} from "${dir}": the folder does not exist; ${HF_FOLDER_LAYOUT}`,
      );
    }
    throw e;
  }
  if (!info.isDirectory) {
    throw new TypeError(
      `Cannot ${action} from "${dir}": it is a file, not a folder; ${HF_FOLDER_LAYOUT}`,
    );
  }
}

/** True when `path` is an existing file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Names of the folders directly in `dir`, sorted; none when `dir` does not exist. Symlinks are not
 * followed (their entries are not folders), so callers that confine paths never list an escape.
 */
export async function subfolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}
