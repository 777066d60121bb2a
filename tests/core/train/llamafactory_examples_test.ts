// LlamaFactory's own example YAMLs (examples/train_lora/llama3_lora_{sft,dpo,reward,kto}.yaml and
// examples/train_full/llama3_full_sft.yaml, copied with only the model and dataset changed) train
// here. The model is the embedded tiny-llama and runs stop after 2 steps to keep the test short.
import assert from "node:assert/strict";
import { loadConfig } from "../../../core/config/mod.ts";
import { initGpu } from "../../../core/tensor/mod.ts";
import { runTraining } from "../../../core/train/workflow.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

const root = new URL("../../../", import.meta.url).pathname;

for (
  const name of [
    "llama3_lora_sft",
    "llama3_full_sft",
    "llama3_lora_dpo",
    "llama3_lora_reward",
    "llama3_lora_kto",
  ]
) {
  Deno.test(`LlamaFactory's ${name}.yaml trains (2 steps on the embedded model)`, async () => {
    await initGpu();
    const out = await Deno.makeTempDir();
    const registries = builtinRegistries();
    const cwd = Deno.cwd();
    Deno.chdir(root);
    try {
      const { args, notes } = await loadConfig(`tests/core/config/fixtures/${name}.yaml`, [
        "model_name_or_path=models/tiny-llama",
        "max_steps=2",
        "logging_steps=1",
        `output_dir=${out}`,
      ]);
      assert.ok(
        notes.some((n) => n.includes("preprocessing_num_workers")),
        "runtime-only keys get a note",
      );
      const result = await runTraining(args, { registries, progress: false, log: () => {} });
      assert.equal(result.globalStep, 2);
      assert.ok(Number.isFinite(result.trainingLoss) && result.trainingLoss > 0);
      const files = [...Deno.readDirSync(out)].map((e) => e.name);
      const weights = args.finetuning_type === "lora"
        ? "adapter_model.safetensors"
        : "model.safetensors";
      for (const f of [weights, "trainer_log.jsonl", "tokenizer.json", "training_loss.png"]) {
        assert.ok(files.includes(f), `${f} missing from ${files}`);
      }
    } finally {
      Deno.chdir(cwd);
      await Deno.remove(out, { recursive: true });
    }
  });
}
