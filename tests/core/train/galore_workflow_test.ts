// GaLore through `cli.ts train`'s workflow on the embedded model: it trains, its optimizer state
// (low-rank moments and projections) goes into checkpoints, and a run resumed from step 2 ends
// with the weights and step-3/4 losses of the uninterrupted run, across a projection renewal.
// Combinations LlamaFactory refuses are refused by key.
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../../core/config/mod.ts";
import { openSafetensors } from "../../../core/io/safetensors.ts";
import { maxWeightDiff } from "./_copy_task.ts";
import { atRoot, trainExample } from "./_example_run.ts";

const example = "examples/extras/galore/tiny_galore_sft.yaml";

async function train(out: string, overrides: string[] = []) {
  const log = await trainExample(example, out, [
    "max_steps=4",
    "logging_steps=1",
    "save_steps=2",
    "galore_update_interval=3",
    "galore_rank=4",
    "plot_loss=false",
    ...overrides,
  ]);
  return {
    losses: log.map((l) => l.loss),
    weights: await readWeights(join(out, "model.safetensors")),
  };
}

/** Every tensor of a saved f32 checkpoint, by name. */
async function readWeights(path: string): Promise<Map<string, Float32Array>> {
  const file = await openSafetensors(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of file.names()) {
      assert.equal(file.info(name).dtype, "F32");
      const bytes = await file.read(name);
      out.set(name, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    }
    return out;
  } finally {
    file.close();
  }
}

Deno.test("GaLore trains the full model and resumes its projections from a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b, c] = [join(dir, "a"), join(dir, "b"), join(dir, "c")];
  try {
    const full = await train(a);
    assert.equal(full.losses.length, 4);
    const resumed = await train(b, [`resume_from_checkpoint=${join(a, "checkpoint-2")}`]);
    // Equal up to rounding: the embedding's gradient sums rows with float atomics in any order.
    resumed.losses.slice(-2).forEach((l, i) => {
      assert.ok(Math.abs(l - full.losses[2 + i]) < 1e-5 * full.losses[2 + i], `step ${3 + i}`);
    });
    const drift = maxWeightDiff(resumed.weights, full.weights);
    assert.ok(drift < 1e-6, `the resumed run ends ${drift} from the uninterrupted one`);
    // Plain AdamW from the same start ends elsewhere: the projection is in effect, and a resume
    // that lost the projections (zero updates until the next SVD) would show far more drift.
    const adamw = await train(c, ["use_galore=false"]);
    assert.ok(maxWeightDiff(adamw.weights, full.weights) > 1e-4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("GaLore refuses LoRA, layer-wise updates, other projections and optimizers by key", async () => {
  await atRoot(async () => {
    const bad: [string[], RegExp][] = [
      [["finetuning_type=lora"], /use_galore.*LoRA/],
      [["galore_layerwise=true"], /galore_layerwise.*not implemented/],
      [["galore_proj_type=left"], /galore_proj_type.*only the std/],
      [["optim=sgd"], /use_galore.*optim "sgd"/],
    ];
    for (const [o, re] of bad) await assert.rejects(loadConfig(example, o), re);
  });
});
