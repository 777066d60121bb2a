// GaLore through `cli.ts train`'s workflow on the embedded model: it trains, its optimizer state
// (low-rank moments and projections) goes into checkpoints, and a run resumed from step 2 ends
// with the weights and step-3/4 losses of the uninterrupted run, across a projection renewal.
// Combinations LlamaFactory refuses are refused by key.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../../core/config/mod.ts";
import { initGpu } from "../../../core/tensor/mod.ts";
import { runTraining } from "../../../core/train/workflow.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

const root = new URL("../../../", import.meta.url).pathname;
const example = "examples/extras/galore/tiny_galore_sft.yaml";

async function train(out: string, overrides: string[] = []) {
  await initGpu();
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    const { args } = await loadConfig(example, [
      "max_steps=4",
      "logging_steps=1",
      "save_steps=2",
      "galore_update_interval=3",
      "galore_rank=4",
      "plot_loss=false",
      `output_dir=${out}`,
      ...overrides,
    ]);
    await runTraining(args, { registries: builtinRegistries(), progress: false, log: () => {} });
  } finally {
    Deno.chdir(cwd);
  }
  const log = (await Deno.readTextFile(join(out, "trainer_log.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((l) => "loss" in l);
  return {
    losses: log.map((l) => l.loss as number),
    weights: await Deno.readFile(join(out, "model.safetensors")),
  };
}

Deno.test("GaLore trains the full model and resumes its projections from a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b, c] = [join(dir, "a"), join(dir, "b"), join(dir, "c")];
  try {
    const full = await train(a);
    assert.equal(full.losses.length, 4);
    const resumed = await train(b, [`resume_from_checkpoint=${join(a, "checkpoint-2")}`]);
    assert.deepEqual(resumed.losses.slice(-2), full.losses.slice(2));
    assert.deepEqual(resumed.weights, full.weights, "the resumed run ends with the same weights");
    // Plain AdamW from the same start gives other weights: the projection is in effect.
    const adamw = await train(c, ["use_galore=false"]);
    assert.notDeepEqual(adamw.weights, full.weights);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GaLore refuses LoRA, layer-wise updates, other projections and optimizers by key", async () => {
  const cwd = Deno.cwd();
  Deno.chdir(root);
  try {
    const bad: [string[], RegExp][] = [
      [["finetuning_type=lora"], /use_galore.*LoRA/],
      [["galore_layerwise=true"], /galore_layerwise.*not implemented/],
      [["galore_proj_type=left"], /galore_proj_type.*only the std/],
      [["optim=sgd"], /use_galore.*optim "sgd"/],
    ];
    for (const [o, re] of bad) await assert.rejects(loadConfig(example, o), re);
  } finally {
    Deno.chdir(cwd);
  }
});
