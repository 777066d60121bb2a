// The dpo (and kto) stage end to end on the embedded model: the reference is the model as it
// starts (LoRA adapters off, or a frozen copy under full fine-tuning), so the first step's sigmoid loss is
// exactly ln 2 and later ones fall below it; had the reference followed the policy, every loss
// would stay ln 2. Keys the stage does not support yet are refused by name.
import assert from "node:assert/strict";
import { loadConfig } from "../../../core/config/mod.ts";
import { atRoot, trainExample } from "./_example_run.ts";

const example = "examples/train_lora/tiny_lora_dpo.yaml";

async function train(overrides: string[]) {
  const out = await Deno.makeTempDir();
  try {
    const lines = await trainExample(example, out, [
      "max_steps=4",
      "logging_steps=1",
      "plot_loss=false",
      ...overrides,
    ]);
    return {
      losses: lines.map((l) => l.loss),
      accuracy: lines.map((l) => l.accuracy),
      reward: lines.map((l) => l.reward),
      files: [...Deno.readDirSync(out)].map((e) => e.name),
    };
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

for (const method of ["lora", "full"]) {
  Deno.test(`dpo with ${method}: the first loss is ln 2 against the starting model, then falls`, async () => {
    const lr = method === "lora" ? "learning_rate=5e-3" : "learning_rate=1e-3";
    const { losses, files, reward, accuracy } = await train([`finetuning_type=${method}`, lr]);
    assert.equal(losses.length, 4);
    assert.ok(Math.abs(losses[0] - Math.LN2) < 1e-4, `first loss ${losses[0]}`);
    assert.ok(losses[3] < Math.LN2 - 0.02, `losses ${losses}`);
    // LlamaFactory's trainer_log fields: no pair is ahead at the start, some are at step 4.
    assert.deepEqual([reward[0], accuracy[0]], [0, 0]);
    assert.ok(accuracy[3] > 0 && reward[3] !== 0, `accuracy ${accuracy}, reward ${reward}`);
    const weights = method === "lora" ? "adapter_model.safetensors" : "model.safetensors";
    assert.ok(files.includes(weights), `${weights} missing from ${files}`);
  });
}

Deno.test("kto with lora: 0.5 a row against the starting model, then rewards move", async () => {
  const { losses, reward } = await train([
    "stage=kto",
    "dataset=kto_demo",
    "learning_rate=5e-3",
    "pref_loss=sigmoid",
  ]);
  assert.equal(losses.length, 4);
  // Policy = reference: every log-ratio and the KL estimate are 0, each row's loss 1 - sigmoid(0).
  assert.ok(Math.abs(losses[0] - 0.5) < 1e-4, `first loss ${losses[0]}`);
  assert.equal(reward[0], 0);
  assert.ok(reward.slice(1).some((r) => Math.abs(r) > 1e-3), `rewards ${reward}`);
});

Deno.test("dpo with orpo and simpo trains without a reference", async () => {
  for (const loss of ["orpo", "simpo"]) {
    const { losses } = await train([`pref_loss=${loss}`, "max_steps=2"]);
    assert.equal(losses.length, 2);
    assert.ok(losses.every(Number.isFinite) && Math.abs(losses[0] - Math.LN2) > 1e-3, `${losses}`);
  }
});

Deno.test("dpo refuses ref_model, kto_pair, do_predict and a non-ranking dataset, naming each", async () => {
  await atRoot(async () => {
    await assert.rejects(
      loadConfig(example, ["ref_model=models/tiny-llama"]),
      /ref_model.*remove the key/,
    );
    await assert.rejects(loadConfig(example, ["pref_loss=kto_pair"]), /"kto_pair" for .*pref_loss/);
    await assert.rejects(loadConfig(example, ["do_predict=true"]), /do_predict.*stage dpo/);
    await assert.rejects(
      loadConfig(example, ["additional_target=lm_head"]),
      /additional_target.*adapters off/,
    );
  });
  await assert.rejects(train(["dataset=identity"]), /stage dpo needs a ranking dataset/);
  await assert.rejects(
    train(["stage=ppo", "reward_model=saves/none", "dataset=identity"]),
    /stage "ppo": it is not implemented yet; .* dpo .* kto/,
  );
});
