// What a finished run produced, read from the files it wrote: eval's results.log accuracies,
// predict's predict_results.json, training's train_results.json, the path export wrote.
import { isAbsolute, join, relative, resolve } from "node:path";
import type { RunKind } from "./run_config.ts";

export interface RunResult {
  /** The folder (or file) written, relative to the working folder when inside it. */
  readonly path: string;
  /** Metric name to value, in the order the run wrote them. */
  readonly metrics?: Readonly<Record<string, number>>;
}

export interface ResultSource {
  readonly root: string;
  /** The run's output folder (absolute). */
  readonly outputDir: string;
  /** The child's output lines. */
  readonly output: readonly string[];
}

/** Reads the result of a `kind` run that exited successfully. */
export async function readResult(kind: RunKind, src: ResultSource): Promise<RunResult> {
  const path = shown(src.root, src.outputDir);
  switch (kind) {
    case "train":
      return { path, metrics: await numbers(join(src.outputDir, "train_results.json"), true) };
    case "predict":
      return { path, metrics: await numbers(join(src.outputDir, "predict_results.json"), false) };
    case "eval":
      return {
        path,
        metrics: parseScores(await Deno.readTextFile(join(src.outputDir, "results.log"))),
      };
    case "export": {
      // cli/export.ts names the file or folder it wrote (a .gguf file sits inside export_dir).
      const line = src.output.findLast((l) => l.startsWith("Exported the model to "));
      const written = line?.slice("Exported the model to ".length).trim();
      return { path: written ? shown(src.root, resolve(src.root, written)) : path };
    }
  }
}

/** results.log's `{category:>15}: {accuracy:.2f}` lines as a record. */
export function parseScores(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(.+?):\s*(-?[\d.]+)\s*$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The numeric fields of a JSON object file; undefined when `optional` and missing. */
async function numbers(
  file: string,
  optional: boolean,
): Promise<Record<string, number> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (optional && e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
    if (typeof v === "number") out[k] = v;
  }
  return out;
}

function shown(root: string, abs: string): string {
  const rel = relative(root, abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}
