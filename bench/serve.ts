// Serving throughput of the batching engine (core/infer/batcher.ts, behind `cli.ts api`): wall
// time of 8 concurrent 32-token greedy requests with batches of up to 8 rows against batches of
// one row (requests served one after another). EOS is off, so every request makes 32 tokens.
// Then staggered arrivals: 16 requests of 8 to 64 tokens, one every few decode steps, served with
// continuous batching (late requests join the running batch) against static batches (they wait
// for it to end): wall time and mean latency from submit to last token.
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

/** Serves `prompts` arriving `gapMs` apart, budgets cycling 8..64 tokens; wall and mean latency. */
async function serveStaggered(
  model: Decoder,
  tokenizer: TextDecoding,
  prompts: number[][],
  o: { gapMs: number; continuous: boolean },
): Promise<{ s: number; meanLatencyS: number; refills: number }> {
  const engine = new Batcher(model, { tokenizer, continuous: o.continuous });
  const t0 = performance.now();
  const latencies = await Promise.all(prompts.map(async (prompt, i) => {
    await new Promise((r) => setTimeout(r, i * o.gapMs));
    const start = performance.now();
    const maxNewTokens = 8 << (i % 4);
    const [row] = engine.submit({ prompt, maxNewTokens, eosTokenIds: [] });
    for await (const _ of row);
    if (row.completionTokens !== maxNewTokens) {
      throw new Error(`Cannot time the requests: one made ${row.completionTokens} tokens`);
    }
    return (performance.now() - start) / 1000;
  }));
  return {
    s: (performance.now() - t0) / 1000,
    meanLatencyS: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    refills: engine.stats.refills,
  };
}

/** Continuous against static batching for requests arriving one every ~4 decode steps. */
async function compareStaggered(
  label: string,
  model: Decoder,
  tokenizer: TextDecoding,
  prompts: number[][],
): Promise<string[]> {
  // The gap: four decode steps of a lone request, timed on this adapter.
  const t0 = performance.now();
  await serveAll(model, tokenizer, prompts.slice(0, 1), 1);
  const gapMs = (performance.now() - t0) / NEW_TOKENS * 4;
  const many = Array.from({ length: 16 }, (_, i) => prompts[i % prompts.length]);
  const lines: string[] = [];
  // Each mode runs twice and the second run counts: the first compiles its pipelines.
  for (const [run, continuous] of [true, false, true, false].entries()) {
    const r = await serveStaggered(model, tokenizer, many, { gapMs, continuous });
    if (run < 2) continue;
    lines.push(
      `${label}, 16 requests of 8-64 tokens arriving every ${gapMs.toFixed(1)} ms, ${
        continuous ? `continuous (${r.refills} refills)` : "static"
      }: ${r.s.toFixed(2)} s, mean latency ${r.meanLatencyS.toFixed(2)} s`,
    );
  }
  return lines;
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
    lines.push(...await compareStaggered("tiny-llama", chat.model, chat.tokenizer, prompts));
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
    lines.push(...await compareStaggered(label, model, letters, prompts));
  } finally {
    model.release();
  }
  return lines;
}

if (import.meta.main) { for (const l of await benchServe()) console.log(l); }
