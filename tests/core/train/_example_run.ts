// Runs one of examples/ through the training workflow, as `cli.ts train example.yaml key=value`
// does, from the repository root; returns the trainer_log.jsonl lines that carry a loss.
import { join } from "node:path";
import { loadConfig } from "../../../core/config/mod.ts";
import { initGpu } from "../../../core/tensor/mod.ts";
import { runTraining } from "../../../core/train/workflow.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

const root = new URL("../../../", import.meta.url).pathname;

export async function trainExample(
  example: string,
  out: string,
  overrides: readonly string[],
): Promise<Record<string, number>[]> {
  await initGpu();
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    const { args } = await loadConfig(example, [...overrides, `output_dir=${out}`]);
    await runTraining(args, { registries: builtinRegistries(), progress: false, log: () => {} });
  } finally {
    Deno.chdir(cwd);
  }
  return (await Deno.readTextFile(join(out, "trainer_log.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((l) => "loss" in l);
}

/** Runs `fn` with the repository root as the working folder (examples name relative paths). */
export async function atRoot<R>(fn: () => Promise<R>): Promise<R> {
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    return await fn();
  } finally {
    Deno.chdir(cwd);
  }
}
