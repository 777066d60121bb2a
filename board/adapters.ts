// The top bar's checkpoint picker: the runs and checkpoints under saves/<model>/<method>/ that
// hold an adapter (lora) or a whole model (full, freeze), in LlamaFactory's layout:
// saves/<model name>/<finetuning_type>/<run>/checkpoint-N. As in LlamaBoard, a picked full or
// freeze checkpoint replaces the model; a picked adapter goes on top of it.
import { join } from "node:path";
import { isFile, subfolders } from "../core/io/_folder.ts";
import { checkPath } from "./paths.ts";

export interface AdapterQuery {
  /** model_name_or_path as typed: a catalogue name or a local path; its last segment names it. */
  readonly model: string;
  /** finetuning_type. */
  readonly method: string;
}

/** Paths relative to `root` of the checkpoint folders of `q`, runs by name, checkpoints by step. */
export async function listAdapters(root: string, q: AdapterQuery): Promise<string[]> {
  const name = q.model.replace(/[/\\]+$/, "").split(/[/\\]/).at(-1) ?? "";
  if (!name || !q.method) return [];
  const base = `saves/${name}/${q.method}`;
  const abs = checkPath(root, base, { key: "adapter_name_or_path" });
  const out: string[] = [];
  for (const run of await subfolders(abs)) {
    const runDir = `${base}/${run}`;
    const marker = q.method === "lora" ? "adapter_config.json" : "config.json";
    if (await isFile(join(abs, run, marker))) out.push(runDir);
    const checkpoints = (await subfolders(join(abs, run)))
      .filter((c) => /^checkpoint-\d+$/.test(c))
      .sort((a, b) => step(a) - step(b));
    for (const c of checkpoints) {
      if (await isFile(join(abs, run, c, marker))) out.push(`${runDir}/${c}`);
    }
  }
  return out;
}

function step(checkpoint: string): number {
  return Number(checkpoint.slice("checkpoint-".length));
}
