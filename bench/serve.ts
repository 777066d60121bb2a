// Serving throughput of the batching engine (core/infer/batcher.ts, behind `cli.ts api`): wall
// time of 8 concurrent 32-token greedy requests with batches of up to 8 rows against batches of
// one row (requests served one after another). EOS is off, so every request makes 32 tokens.
// Models: the bundled tiny-llama with its tokenizer, and the decode bench's random Qwen2-shaped
// model (a toy shape on the CPU adapter, Qwen2.5-0.5B's on a GPU).
import { parseConfig } from "../core/config/mod.ts";
import { Batcher } from "../core/infer/batcher.ts";
import { ChatModel } from "../core/infer/chat.ts";
import type { TextDecoding } from "../core/infer/streamer.ts";
import type { Decoder } from "../core/model/decoder.ts";
import * as T from "../core/tensor/mod.ts";
import { builtinRegistries } from "../plugins/mod.ts";
import { isCpuAdapter } from "./_timing.ts";
import { QWEN25_05B, randomModel, TOY } from "./decode.ts";

const REQUESTS = 8, NEW_TOKENS = 32;

/** Seconds to serve every prompt at once through an engine of `maxBatch` rows. */
async function serveAll(
  model: Decoder,
  tokenizer: TextDecoding,
  prompts: number[][],
  maxBatch: number,
): Promise<{ s: number; batches: number }> {
  const engine = new Batcher(model, { tokenizer, maxBatch });
  const t0 = performance.now();
  const rows = prompts.flatMap((prompt) =>
    engine.submit({ prompt, maxNewTokens: NEW_TOKENS, eosTokenIds: [] })
  );
  await Promise.all(rows.map(async (r) => {
    for await (const _ of r);
  }));
  const s = (performance.now() - t0) / 1000;
  const made = rows.reduce((n, r) => n + r.completionTokens, 0);
  const want = prompts.length * NEW_TOKENS;
  if (made !== want) throw new Error(`Cannot time the batch: made ${made} tokens, not ${want}`);
  return { s, batches: engine.stats.batches };
}

async function compare(
  label: string,
  model: Decoder,
  tokenizer: TextDecoding,
  prompts: number[][],
): Promise<string[]> {
  await serveAll(model, tokenizer, prompts, REQUESTS); // warm-up: pipelines for these shapes
  await serveAll(model, tokenizer, prompts.slice(0, 1), 1);
  const batched = await serveAll(model, tokenizer, prompts, REQUESTS);
  const single = await serveAll(model, tokenizer, prompts, 1);
  const lens = prompts.map((p) => p.length);
  const line = (name: string, r: { s: number; batches: number }) =>
    `${label}, ${REQUESTS} requests x ${NEW_TOKENS} tokens (prompts ${Math.min(...lens)}-${
      Math.max(...lens)
    } tokens), ${name}: ${r.s.toFixed(2)} s in ${r.batches} batches, ${
      (REQUESTS * NEW_TOKENS / r.s).toFixed(0)
    } tokens/s`;
  return [
    line(`max batch ${REQUESTS}`, batched),
    line("max batch 1", single),
    `${label}: batched is ${(single.s / batched.s).toFixed(2)}x faster`,
  ];
}

export async function benchServe(): Promise<string[]> {
  await T.initGpu();
  const lines = [`adapter: ${T.gpu().adapterName}`];
  const dir = new URL("../models/tiny-llama", import.meta.url).pathname;
  const { args } = parseConfig(`model_name_or_path: ${dir}\ntemplate: llama3\ndo_sample: false\n`);
  const chat = await ChatModel.load(args, builtinRegistries());
  try {
    const asks = ["Who are you?", "What is 2 + 2?", "Name a colour", "Hi", "Tell me a story"];
    const prompts = Array.from(
      { length: REQUESTS },
      (_, i) => chat.promptIds([{ role: "user", content: `${asks[i % asks.length]} (${i})` }]),
    );
    lines.push(...await compare("tiny-llama", chat.model, chat.tokenizer, prompts));
  } finally {
    chat.release();
  }
  const hf = isCpuAdapter() ? TOY : QWEN25_05B;
  const model = randomModel(hf);
  try {
    const rng = new T.Rng(5), v = model.cfg.vocabSize;
    const prompts = Array.from(
      { length: REQUESTS },
      (_, i) => Array.from({ length: 16 + 4 * i }, () => rng.int(v)),
    );
    const letters = {
      decode: (ids: number[]) => ids.map((x) => String.fromCharCode(97 + x % 26)).join(""),
    };
    const label = `random Qwen2 shape (hidden ${hf.hidden_size}, ${hf.num_hidden_layers} layers)`;
    lines.push(...await compare(label, model, letters, prompts));
  } finally {
    model.release();
  }
  return lines;
}

if (import.meta.main) { for (const l of await benchServe()) console.log(l); }
