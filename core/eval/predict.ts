// do_predict with predict_with_generate (LlamaFactory's sft workflow): generate a reply for each
// evaluation example in batches, then write generated_predictions.jsonl ({prompt, predict, label}
// per line) and predict_results.json (BLEU-4, ROUGE x100 and timings) into output_dir.
import type { Args } from "../config/schema.ts";
import type { Conversation } from "../data/conversation.ts";
import type { Example } from "../data/dataset_info.ts";
import { loadDatasets } from "../data/loader.ts";
import type { Template } from "../data/template.ts";
import { generate } from "../infer/generate.ts";
import { readGenerationConfig } from "../io/hf_config.ts";
import type { Tokenizer } from "../io/tokenizer.ts";
import type { Decoder } from "../model/decoder.ts";
import type { Registries } from "../plugins.ts";
import { similarity } from "./similarity.ts";

export interface PredictModel {
  readonly model: Decoder;
  readonly tokenizer: Tokenizer;
  readonly template: Template;
}

export interface Prediction {
  prompt: string;
  predict: string;
  label: string;
}

export interface PredictResult {
  predictions: Prediction[];
  /** predict_results.json's content. */
  metrics: Record<string, number>;
}

/** The examples to predict: eval_dataset when set, else dataset (as LlamaFactory's predict). */
export async function predictExamples(args: Args, registries: Registries): Promise<Conversation[]> {
  const names = args.eval_dataset?.length ? args.eval_dataset : args.dataset;
  if (!names?.length) {
    throw new TypeError(
      'Cannot predict: set "eval_dataset" (or "dataset") to the examples to predict',
    );
  }
  const { train } = await loadDatasets(names, {
    formats: registries.formats,
    datasetDir: args.dataset_dir,
    maxSamples: args.max_samples,
    seed: args.seed,
  });
  return train.filter((e: Example): e is Conversation =>
    !("chosen" in e) && e.messages.at(-1)?.role === "assistant"
  );
}

export interface PredictOptions {
  /** Called with the examples generated so far: 0 first, examples.length last. */
  onProgress?: (done: number, total: number) => void;
}

/** Generates a reply to every example and scores it against the example's last turn. */
export async function predict(
  m: PredictModel,
  examples: readonly Conversation[],
  args: Args,
  opts: PredictOptions = {},
): Promise<PredictResult> {
  if (!examples.length) throw new RangeError("Cannot predict: the dataset holds no examples");
  const start = performance.now();
  const gen = args.model_name_or_path
    ? await readGenerationConfig(args.model_name_or_path)
    : { eos_token_id: [] as number[] };
  const eos = [...new Set([...m.template.stopTokenIds(m.tokenizer), ...gen.eos_token_id])];
  const encoded = examples.map((e) =>
    m.template.encodeOneturn(m.tokenizer, {
      messages: e.messages,
      system: e.system ?? args.default_system,
      tools: e.tools,
    })
  );
  const batch = args.per_device_eval_batch_size;
  const predictions: Prediction[] = [];
  let steps = 0;
  opts.onProgress?.(0, encoded.length);
  for (let i = 0; i < encoded.length; i += batch) {
    const part = encoded.slice(i, i + batch);
    const rows = await generate(m.model, part.map(([p]) => p), {
      maxNewTokens: args.max_new_tokens,
      doSample: args.do_sample,
      temperature: args.temperature,
      topP: args.top_p,
      topK: args.top_k,
      repetitionPenalty: args.repetition_penalty,
      eosTokenIds: eos,
      padTokenId: m.tokenizer.padTokenId ?? eos[0],
      seed: args.seed + i,
      stopStrings: m.template.stopWords,
      tokenizer: m.tokenizer,
    });
    steps++;
    part.forEach(([prompt, response], r) =>
      predictions.push({
        // LlamaFactory decodes the prompt with its special tokens, the rest without.
        prompt: m.tokenizer.decode(prompt),
        predict: m.tokenizer.decode(rows[r], { skipSpecialTokens: true }),
        label: m.tokenizer.decode(response, { skipSpecialTokens: true }),
      })
    );
    opts.onProgress?.(predictions.length, encoded.length);
  }
  const runtime = (performance.now() - start) / 1000;
  const scores = similarity(predictions.map((p) => p.predict), predictions.map((p) => p.label));
  const metrics: Record<string, number> = {
    "predict_bleu-4": scores["bleu-4"],
    "predict_rouge-1": scores["rouge-1"],
    "predict_rouge-2": scores["rouge-2"],
    "predict_rouge-l": scores["rouge-l"],
    predict_runtime: round(runtime, 4),
    predict_samples_per_second: round(examples.length / runtime, 3),
    predict_steps_per_second: round(steps / runtime, 3),
  };
  return { predictions, metrics };
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

/** Writes generated_predictions.jsonl and predict_results.json (keys sorted, as HF's Trainer). */
export async function savePredictions(outputDir: string, result: PredictResult): Promise<void> {
  await Deno.mkdir(outputDir, { recursive: true });
  const lines = result.predictions.map((p) => JSON.stringify(p)).join("\n") + "\n";
  await Deno.writeTextFile(`${outputDir}/generated_predictions.jsonl`, lines);
  const sorted = Object.fromEntries(
    Object.entries(result.metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  await Deno.writeTextFile(`${outputDir}/predict_results.json`, JSON.stringify(sorted, null, 4));
}
