// `deno task bench`: every benchmark in turn, printed with the adapter's name. Figures are
// recorded in BENCHMARKS.md; nothing here fails on speed. `deno task bench matmul` runs one.
import { initGpu } from "../core/tensor/mod.ts";
import { benchAdamW } from "./adamw.ts";
import { benchAttention } from "./attention.ts";
import { benchDecode } from "./decode.ts";
import { benchElementwise } from "./elementwise.ts";
import { benchMatmul } from "./matmul.ts";
import { benchServe } from "./serve.ts";
import { benchTrainLora } from "./train_lora.ts";

const BENCHES: Record<string, () => Promise<string[]>> = {
  matmul: benchMatmul,
  elementwise: benchElementwise,
  attention: benchAttention,
  adamw: benchAdamW,
  decode: benchDecode,
  serve: benchServe,
  train_lora: benchTrainLora,
};

if (import.meta.main) {
  const g = await initGpu();
  console.log(`adapter: ${g.adapterName} (features: ${[...g.features].join(", ")})`);
  const only = Deno.args.filter((a) => a in BENCHES);
  for (const [name, run] of Object.entries(BENCHES)) {
    if (only.length && !only.includes(name)) continue;
    console.log(`\n## ${name}`);
    for (const line of await run()) console.log(line);
  }
}
