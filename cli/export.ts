// `cli.ts export config.yaml [key=value ...]`: merge adapters and write export_dir (as
// `llamafactory-cli export`): an HF folder with an Ollama Modelfile, or a GGUF file.
import { commandConfig } from "./_config.ts";
import { exportModel } from "../core/export/mod.ts";
import { initGpu } from "../core/tensor/mod.ts";
import { ProgressMeter } from "../core/train/progress_meter.ts";

export async function exportCommand(argv: string[]): Promise<number> {
  const { args, registries } = await commandConfig(argv, { command: "export" });
  await initGpu();
  const meter = new ProgressMeter();
  let written: string;
  try {
    written = await exportModel(args, registries, { onProgress: meter.onProgress });
  } finally {
    meter.finish(); // an error then starts on its own line
  }
  console.error(`Exported the model to ${written}`);
  return 0;
}
