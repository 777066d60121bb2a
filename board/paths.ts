// Paths typed into the board are confined to the working folder's data, models, saves, output,
// evaluation and saved-arguments folders, and to the Hugging Face model cache for models: the server runs with -A, so anything else would expose
// the whole disk. A path must pass twice: lexically (no `..` out) and once symlinks are resolved
// (a link inside a root pointing outside is refused).
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/** Folders under the working folder a typed path may name. */
export const ALLOWED_DIRS: readonly string[] = [
  "data",
  "models",
  "saves",
  "output",
  "evaluation",
  "llamaboard_config",
];

/** Thrown for a path outside the allowed roots; the server answers it with a 400. */
export class PathError extends Error {
  override name = "PathError";
}

export interface CheckPathOptions {
  /** The config key the path came from, named in the error. */
  readonly key?: string;
  /** Folders under the root allowed for this path (default ALLOWED_DIRS). */
  readonly dirs?: readonly string[];
}

/**
 * The Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), where
 * `huggingface-cli download` puts checkpoints: model paths may point into it too.
 */
export function modelCache(): string | undefined {
  const env = (k: string) => Deno.env.get(k) || undefined;
  const hub = env("HF_HUB_CACHE");
  if (hub) return resolve(hub);
  const home = env("HF_HOME");
  if (home) return resolve(home, "hub");
  const user = env("HOME");
  return user ? resolve(user, ".cache", "huggingface", "hub") : undefined;
}

/** Keys whose paths may also point into the model cache (read only). */
const MODEL_KEYS = new Set(["model_name_or_path", "adapter_name_or_path"]);

/** The allowed roots under `root` (absolute). */
export function allowedRoots(root: string, dirs: readonly string[] = ALLOWED_DIRS): string[] {
  return dirs.map((d) => resolve(root, d));
}

/** Resolves `path` against `root` and returns it when it lies inside an allowed root. */
export function checkPath(root: string, path: string, opts: CheckPathOptions = {}): string {
  const dirs = opts.dirs ?? ALLOWED_DIRS;
  const abs = resolve(root, path);
  const cache = MODEL_KEYS.has(opts.key ?? "") ? modelCache() : undefined;
  const roots = [...allowedRoots(root, dirs), ...(cache ? [cache] : [])];
  const refuse = (why: string) => {
    const what = opts.key ? `${opts.key} "${path}"` : `path "${path}"`;
    const listed = [
      ...dirs.map((d) => `"${d}/"`),
      ...(cache ? [`the model cache "${cache}"`] : []),
    ];
    return new PathError(`Cannot use ${what}: ${why} ${listed.join(", ")}`);
  };
  if (path.includes("\0") || !roots.some((r) => inside(r, abs))) {
    throw refuse("expected a path inside");
  }
  // NOTE: the real path is taken of the longest existing prefix, so a path still to be created
  // (an output folder) is checked through the links of the folders above it.
  const real = realOfPrefix(abs);
  if (real === undefined) {
    throw refuse("it goes through a broken symbolic link; expected a path inside");
  }
  const realRoots = roots.map((r) => realOfPrefix(r) ?? r);
  if (!realRoots.some((r) => inside(r, real))) {
    throw refuse("it leads through a symbolic link out of");
  }
  return abs;
}

function inside(root: string, abs: string): boolean {
  const rel = relative(root, abs);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.startsWith(sep));
}

/** `abs` with the symlinks of its longest existing prefix resolved; undefined for a broken link. */
function realOfPrefix(abs: string): string | undefined {
  const rest: string[] = [];
  for (let p = abs;; p = dirname(p)) {
    try {
      return join(Deno.realPathSync(p), ...rest.reverse());
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      // realPath fails on a dangling link too: lstat tells it from a missing entry.
      try {
        Deno.lstatSync(p);
        return undefined;
      } catch { /* missing: try the parent */ }
    }
    if (dirname(p) === p) return abs;
    rest.push(p.slice(dirname(p).length).replace(/^[/\\]+/, ""));
  }
}
