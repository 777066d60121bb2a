// The rm stage end to end on the embedded model: the value head trains beside the LoRA adapter,
// is written as value_head.safetensors, and a run resumed from a mid-way checkpoint ends with the
// head (and loss curve) of the uninterrupted run, so the head and its optimizer state are
// restored (a fresh head would give other numbers).
import assert from "node:assert/strict";
import { join } from "node:path";
import { trainExample } from "./_example_run.ts";

async function train(out: string, overrides: string[] = []) {
  const log = await trainExample("examples/train_lora/tiny_lora_reward.yaml", out, [
    "max_steps=4",
    "logging_steps=1",
    "save_steps=2",
    "plot_loss=false",
    "learning_rate=5e-3",
    ...overrides,
  ]);
  return {
    losses: log.map((l) => l.loss),
    accuracy: log.map((l) => l.accuracy),
    head: await Deno.readFile(join(out, "value_head.safetensors")),
  };
}

Deno.test("rm evaluates the share of pairs scored the right way as eval_accuracy", async () => {
  const out = await Deno.makeTempDir();
  try {
    await train(out, ["val_size=0.2", "eval_strategy=steps", "eval_steps=2"]);
    const state = JSON.parse(await Deno.readTextFile(join(out, "trainer_state.json")));
    const evals = state.log_history.filter((e: Record<string, number>) => "eval_loss" in e);
    assert.equal(evals.length, 2);
    for (const e of evals) {
      // Absent (undefined) fails too: the stage's metric must reach the evaluation.
      assert.ok(e.eval_accuracy >= 0 && e.eval_accuracy <= 1, JSON.stringify(e));
      assert.ok(Number.isFinite(e.eval_loss) && e.eval_loss > 0);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("rm trains a value head beside the adapter and resumes it from a checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const [a, b] = [join(dir, "a"), join(dir, "b")];
  try {
    const full = await train(a);
    assert.equal(full.losses.length, 4);
    assert.ok(full.accuracy.every((x) => x >= 0 && x <= 1), `accuracy ${full.accuracy}`);
    for (const f of ["adapter_model.safetensors", "value_head.safetensors"]) {
      await Deno.stat(join(a, "checkpoint-2", f)); // throws when missing
    }
    const resumed = await train(b, [`resume_from_checkpoint=${join(a, "checkpoint-2")}`]);
    assert.deepEqual(resumed.losses.slice(-2), full.losses.slice(2));
    assert.deepEqual(resumed.head, full.head, "the resumed run ends with the same value head");
    assert.notDeepEqual(
      full.head,
      await Deno.readFile(join(a, "checkpoint-2", "value_head.safetensors")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
