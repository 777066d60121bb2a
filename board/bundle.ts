// The page's script: board/client/*.ts bundled for the browser by `deno bundle` (uPlot included,
// so nothing is fetched from a CDN). Built when the server starts, named by a hash of its sources
// (and of deno.json and the Deno version), and kept in a cache folder: a restart after an edit
// rebuilds it, an unchanged checkout reuses it, and the browser may cache it forever.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface ClientBundle {
  /** File name served under /static/, e.g. "board.3f2a….js". */
  readonly name: string;
  readonly code: string;
}

export interface BundleOptions {
  /** Folder of the client sources, entry point main.ts (default board/client). */
  readonly srcDir?: string;
  /** Where built bundles are kept (default $XDG_CACHE_HOME/llamaforge/board). */
  readonly cacheDir?: string;
}

const SRC = fileURLToPath(new URL("./client", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** Builds are shared by every app in the process with the same sources and cache. */
const builds = new Map<string, Promise<ClientBundle>>();

/** The client bundle, built at most once per process and source hash. */
export function clientBundle(opts: BundleOptions = {}): Promise<ClientBundle> {
  const srcDir = opts.srcDir ?? SRC;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const key = `${srcDir}\0${cacheDir}`;
  let build = builds.get(key);
  if (!build) {
    build = buildOnce(srcDir, cacheDir);
    // A failed build (no network for esbuild's first download, a syntax error) is retried next time.
    build.catch(() => builds.delete(key));
    builds.set(key, build);
  }
  return build;
}

/** SHA-256 (16 hex digits) over the sources' names and contents, deno.json and Deno's version. */
export async function sourceHash(srcDir: string): Promise<string> {
  const parts: string[] = [Deno.version.deno, await Deno.readTextFile(CONFIG)];
  for (const f of await sourceFiles(srcDir)) {
    parts.push(f, await Deno.readTextFile(join(srcDir, f)));
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(parts.join("\0")));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(
    0,
    16,
  );
}

async function buildOnce(srcDir: string, cacheDir: string): Promise<ClientBundle> {
  const name = `board.${await sourceHash(srcDir)}.js`;
  const file = join(cacheDir, name);
  try {
    return { name, code: await Deno.readTextFile(file) };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  // Built under a temporary name and renamed, so a concurrent server never reads half a file.
  const tmp = join(cacheDir, `.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--config",
      CONFIG,
      "--output",
      tmp,
      join(srcDir, "main.ts"),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    await Deno.remove(tmp).catch(() => {});
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Cannot bundle the board's client from ${srcDir}: ${msg}`);
  }
  await Deno.rename(tmp, file);
  await pruneOld(cacheDir, name);
  return { name, code: await Deno.readTextFile(file) };
}

async function sourceFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await sourceFiles(dir, rel));
    else if (/\.(ts|js|json)$/.test(e.name)) out.push(rel);
  }
  return out.sort();
}

/** Removes bundles not used for a week (other checkouts may share the cache). */
async function pruneOld(cacheDir: string, keep: string): Promise<void> {
  const week = 7 * 24 * 3600 * 1000;
  for await (const e of Deno.readDir(cacheDir)) {
    if (e.name === keep || !/^board\.[0-9a-f]+\.js$/.test(e.name)) continue;
    const p = join(cacheDir, e.name);
    const info = await Deno.stat(p).catch(() => null);
    if (info?.mtime && Date.now() - info.mtime.getTime() > week) {
      await Deno.remove(p).catch(() => {});
    }
  }
}

function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  const base = xdg || (home ? join(home, ".cache") : Deno.makeTempDirSync());
  return join(base, "llamaforge", "board");
}
