import assert from "node:assert/strict";
import { loadConfig } from "../../../core/config/mod.ts";
import { predict, predictExamples, savePredictions, similarity } from "../../../core/eval/mod.ts";
import { ChatModel } from "../../../core/infer/chat.ts";
import { initGpu } from "../../../core/tensor/mod.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

const root = new URL("../../../", import.meta.url).pathname;

Deno.test("predict() writes generated_predictions.jsonl and predict_results.json for 5 examples", async () => {
  await initGpu();
  const out = await Deno.makeTempDir();
  const registries = builtinRegistries();
  const { args } = await loadConfig(undefined, [
    `model_name_or_path=${root}models/tiny-llama`,
    "template=llama3",
    `dataset_dir=${root}data`,
    "eval_dataset=alpaca_demo",
    "max_samples=5",
    "do_predict=true",
    "predict_with_generate=true",
    "do_sample=false",
    "max_new_tokens=4",
    "per_device_eval_batch_size=2",
    `output_dir=${out}`,
  ], { plugins: { template: registries.templates.names() } });
  const examples = await predictExamples(args, registries);
  assert.equal(examples.length, 5);
  const chat = await ChatModel.load(args, registries);
  try {
    await savePredictions(out, await predict(chat, examples, args));
  } finally {
    chat.release();
  }
  const lines = (await Deno.readTextFile(`${out}/generated_predictions.jsonl`)).trimEnd().split(
    "\n",
  );
  assert.equal(lines.length, 5);
  const rows = lines.map((l) => JSON.parse(l));
  rows.forEach((r, i) => {
    assert.deepEqual(Object.keys(r), ["prompt", "predict", "label"]);
    assert.equal(r.label, examples[i].messages.at(-1)!.content);
    assert.ok(r.prompt.includes(examples[i].messages[0].content), r.prompt);
    assert.equal(typeof r.predict, "string");
  });
  const metrics = JSON.parse(await Deno.readTextFile(`${out}/predict_results.json`));
  assert.deepEqual(Object.keys(metrics), [
    "predict_bleu-4",
    "predict_rouge-1",
    "predict_rouge-2",
    "predict_rouge-l",
    "predict_runtime",
    "predict_samples_per_second",
    "predict_steps_per_second",
  ]);
  // The saved scores are those of the saved predictions.
  const s = similarity(rows.map((r) => r.predict), rows.map((r) => r.label));
  assert.equal(metrics["predict_bleu-4"], s["bleu-4"]);
  assert.equal(metrics["predict_rouge-l"], s["rouge-l"]);
  for (const v of Object.values(metrics)) assert.ok(Number.isFinite(v) && (v as number) >= 0);
});

Deno.test("predict() reports the examples generated so far, one report per batch", async () => {
  await initGpu();
  const registries = builtinRegistries();
  const { args } = await loadConfig(undefined, [
    `model_name_or_path=${root}models/tiny-llama`,
    "template=llama3",
    `dataset_dir=${root}data`,
    "eval_dataset=alpaca_demo",
    "max_samples=3",
    "do_predict=true",
    "predict_with_generate=true",
    "do_sample=false",
    "max_new_tokens=2",
    "per_device_eval_batch_size=2",
    `output_dir=${await Deno.makeTempDir()}`,
  ], { plugins: { template: registries.templates.names() } });
  const examples = await predictExamples(args, registries);
  const calls: [number, number][] = [];
  const chat = await ChatModel.load(args, registries);
  try {
    const result = await predict(chat, examples, args, {
      onProgress: (done, total) => calls.push([done, total]),
    });
    assert.equal(result.predictions.length, examples.length);
  } finally {
    chat.release();
  }
  const n = examples.length;
  assert.equal(n, 3);
  assert.deepEqual(calls, [[0, n], [2, n], [3, n]]);
});
