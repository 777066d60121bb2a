// `cli.ts train config.yaml [key=value ...]`: LlamaFactory's `llamafactory-cli train`.
import { commandConfig } from "./_config.ts";
import { initGpu } from "../core/tensor/mod.ts";
import { runTraining } from "../core/train/workflow.ts";
import { runPredict } from "./eval.ts";

export async function trainCommand(argv: string[]): Promise<number> {
  const { args, registries } = await commandConfig(argv, { command: "train" });
  const g = await initGpu();
  console.error(`adapter: ${g.adapterName}`);
  if (args.do_train || !args.do_predict) {
    const result = await runTraining(args, { registries });
    console.log(JSON.stringify(result.metrics, null, 2));
  }
  if (args.do_predict) {
    // Predict with what this run trained (LlamaFactory predicts with the model in memory).
    const trained = !args.do_train
      ? args
      : args.finetuning_type === "lora"
      ? { ...args, adapter_name_or_path: [...(args.adapter_name_or_path ?? []), args.output_dir] }
      : { ...args, model_name_or_path: args.output_dir, adapter_name_or_path: undefined };
    await runPredict(trained, registries);
  }
  return 0;
}
