// "Save arguments" and "Load arguments": a form's config as a YAML file that `cli.ts train` runs
// as is, kept in llamaboard_config/ (LlamaFactory's folder for them) or beside a run's output.
import { dirname } from "node:path";
import { parse, stringify } from "yaml";
import { checkPath } from "./paths.ts";

/** Folders arguments are saved to. */
export const ARGS_SAVE_DIRS: readonly string[] = ["llamaboard_config", "saves", "output"];
/** Folders arguments are loaded from: the saved ones and the bundled examples. */
export const ARGS_LOAD_DIRS: readonly string[] = [...ARGS_SAVE_DIRS, "examples"];

function checkYamlPath(root: string, path: string, dirs: readonly string[]): string {
  const abs = checkPath(root, path, { key: "arguments file", dirs });
  if (!/\.ya?ml$/.test(abs)) {
    throw new TypeError(`Cannot use arguments file "${path}": expected a name ending in .yaml`);
  }
  return abs;
}

/** Writes `opts.values` as YAML to `opts.path` (relative to `root`); returns the absolute path. */
export async function saveArgs(
  root: string,
  opts: { path: string; values: Readonly<Record<string, unknown>> },
): Promise<string> {
  const abs = checkYamlPath(root, opts.path, ARGS_SAVE_DIRS);
  await Deno.mkdir(dirname(abs), { recursive: true });
  // Written beside and renamed, so a crash never leaves half a file.
  const tmp = `${abs}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.writeTextFile(tmp, stringify(opts.values));
  await Deno.rename(tmp, abs);
  return abs;
}

/** Reads the YAML mapping at `path` (relative to `root`). */
export async function loadArgs(root: string, path: string): Promise<Record<string, unknown>> {
  const abs = checkYamlPath(root, path, ARGS_LOAD_DIRS);
  let text: string;
  try {
    text = await Deno.readTextFile(abs);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(`Cannot load arguments from "${path}": the file does not exist`);
    }
    throw e;
  }
  let values: unknown;
  try {
    values = parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot load arguments from "${path}": ${(e as Error).message}`);
  }
  if (!values || typeof values !== "object" || Array.isArray(values)) {
    throw new SyntaxError(
      `Cannot load arguments from "${path}": expected a mapping of keys to values`,
    );
  }
  return values as Record<string, unknown>;
}
