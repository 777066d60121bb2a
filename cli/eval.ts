// `cli.ts eval config.yaml [key=value ...]`: with `task` set, a multiple-choice benchmark as
// `llamafactory-cli eval` runs it (accuracies printed, results in save_dir); with `do_predict` and
// `predict_with_generate`, generated predictions of the evaluation set scored by BLEU and ROUGE.
import { commandConfig } from "./_config.ts";
import type { Args } from "../core/config/schema.ts";
import {
  evaluate,
  formatScores,
  predict,
  predictExamples,
  savePredictions,
} from "../core/eval/mod.ts";
import { ChatModel } from "../core/infer/chat.ts";
import type { Registries } from "../core/plugins.ts";
import { initGpu } from "../core/tensor/mod.ts";
import { ProgressMeter } from "../core/train/progress_meter.ts";

export async function evalCommand(argv: string[]): Promise<number> {
  const { args, registries } = await commandConfig(argv, { command: "eval" });
  if (!args.task && !args.do_predict) {
    throw new TypeError(
      'Cannot evaluate: set "task" (e.g. task: mmlu_test) or "do_predict: true" with an eval_dataset',
    );
  }
  await initGpu();
  if (args.task) {
    const chat = await ChatModel.load(args, registries);
    const meter = new ProgressMeter();
    try {
      const result = await evaluate(chat, args, { onProgress: meter.onProgress });
      meter.finish();
      console.log(formatScores(result.categories));
      if (args.save_dir) console.error(`Saved results.json and results.log to ${args.save_dir}`);
    } finally {
      meter.finish(); // an error then starts on its own line
      chat.release();
    }
  }
  if (args.do_predict) await runPredict(args, registries);
  return 0;
}

/** do_predict: generates for the evaluation set and writes the files into output_dir. */
export async function runPredict(args: Args, registries: Registries): Promise<void> {
  if (!args.predict_with_generate) {
    throw new TypeError(
      'Cannot predict without generation: set "predict_with_generate: true" (teacher-forced prediction is not supported)',
    );
  }
  const examples = await predictExamples(args, registries);
  const chat = await ChatModel.load(args, registries);
  const meter = new ProgressMeter();
  try {
    const result = await predict(chat, examples, args, { onProgress: meter.onProgress });
    meter.finish();
    await savePredictions(args.output_dir, result);
    for (const [k, v] of Object.entries(result.metrics)) console.log(`  ${k} = ${v}`);
    console.error(
      `Saved generated_predictions.jsonl and predict_results.json to ${args.output_dir}`,
    );
  } finally {
    meter.finish();
    chat.release();
  }
}
