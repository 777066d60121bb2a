// Generation speed of a Qwen2-shaped model with random weights (Qwen2.5-0.5B's shape on a GPU, a
// toy one on the CPU adapter): prefill tokens/s of a 512-token prompt and decode tokens/s of
// batch 1 over 128 new tokens, greedy unless said; and the first-token latency of a chat reply
// (streamGenerate on a ~64-token chat prompt until its first text, with cli.ts chat's options).
// tests/fixtures/bench_transformers_decode.py measures transformers on the same shape.
import { parseConfig } from "../core/config/mod.ts";
import type { Message } from "../core/data/conversation.ts";
import { ChatModel } from "../core/infer/chat.ts";
import { generate, type GenerateOptions, streamGenerate } from "../core/infer/mod.ts";
import { builtinRegistries } from "../plugins/mod.ts";
import { DecodeState, sampleStep } from "../core/infer/sampling.ts";
import { Decoder } from "../core/model/decoder.ts";
import { KvCache } from "../core/model/kv_cache.ts";
import * as T from "../core/tensor/mod.ts";
import { qwen2 } from "../plugins/models/qwen2.ts";
import { isCpuAdapter, timeGpu } from "./_timing.ts";

export const QWEN25_05B = {
  model_type: "qwen2",
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  intermediate_size: 4864,
  vocab_size: 151936,
  tie_word_embeddings: true,
  max_position_embeddings: 32768,
  rope_theta: 1000000.0,
  rms_norm_eps: 1e-6,
};
export const TOY = {
  ...QWEN25_05B,
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 256,
  vocab_size: 1000,
};

/** A decoder with random weights, filled on the GPU by tiling one random block (fast to make). */
export function randomModel(hf: Record<string, unknown>): Decoder {
  const model = new Decoder(qwen2.parseConfig(hf), { empty: true });
  const block = T.randn([1 << 20], 0.02, { seed: 1 });
  const ones = T.ones([1 << 14]);
  for (const [name, p] of model.namedParameters()) {
    const src = name.endsWith("norm.weight") ? ones : block;
    for (let off = 0; off < p.byteLength; off += src.byteLength) {
      const n = Math.min(src.byteLength, p.byteLength - off);
      T.gpu().copy(src.buffer(), 0, p.buffer(), off, n);
    }
  }
  block.release();
  ones.release();
  return model;
}

function prompt(n: number, vocab: number, seed: number): number[] {
  const rng = new T.Rng(seed);
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** Median seconds of `runs` calls of an async fn. */
async function median(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ts.push((performance.now() - t0) / 1000);
  }
  return ts.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/** One prefill of `ids` [1, P] through a fresh cache, with the choice of token 0. */
function prefillOnce(model: Decoder, ids: number[]): void {
  const p = ids.length;
  const cache = new KvCache(model.cfg, { batch: 1, maxLen: p + 1 });
  const state = new DecodeState({ vocabSize: model.cfg.vocabSize, maxNew: 1, context: [ids] });
  T.noGrad(() =>
    T.scope(() => {
      const h = model.hidden(T.tensor(Int32Array.from(ids), [1, p], { dtype: "i32" }), {
        positions: T.reshape(T.arange(p), [1, p]),
        cache,
      });
      const y = model.logits(T.slice(h, 1, p - 1, p));
      sampleStep(T.reshape(y, [1, y.shape[2]]), state, { step: 0 });
    })
  );
  cache.release();
  state.release();
}

/** Milliseconds from calling streamGenerate until its first chunk with text, and that text. */
async function firstText(
  model: Decoder,
  prompt: number[],
  opts: GenerateOptions & { tokenizer: { decode(ids: number[]): string } },
): Promise<{ ms: number; text: string }> {
  const t0 = performance.now();
  for await (const c of streamGenerate(model, [prompt], opts)) {
    if (c.text[0]) return { ms: performance.now() - t0, text: c.text[0] };
  }
  return { ms: performance.now() - t0, text: "" };
}

/** A user turn whose chat prompt is at least `n` tokens. */
function chatPrompt(chat: ChatModel, n: number): Message[] {
  let content = "Tell me who you are";
  while (chat.promptIds([{ role: "user", content }]).length < n) content += " and what you do";
  return [{ role: "user", content }];
}

/**
 * First-token latency as `cli.ts chat` sees it: the bundled tiny-llama through ChatModel, a
 * ~64-token prompt, streamGenerate with ChatModel's generation options (its chunk schedule), then
 * the random bench model with the same schedule; read-back every step for comparison.
 */
async function benchFirstToken(bench: Decoder, cpu: boolean, lines: string[]): Promise<void> {
  const dir = new URL("../models/tiny-llama", import.meta.url).pathname;
  const { args } = parseConfig(`model_name_or_path: ${dir}\ntemplate: llama3\ndo_sample: false\n`);
  const chat = await ChatModel.load(args, builtinRegistries());
  const runs = cpu ? 3 : 5;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  try {
    const ids = chat.promptIds(chatPrompt(chat, 64));
    const opts = chat.generationOptions({ maxNewTokens: 64, seed: 0 });
    const schedule = opts.chunk === undefined
      ? "read-back every 8 steps, the default"
      : `read-back every ${opts.chunk} steps`;
    const measure = async (
      model: Decoder,
      prompt: number[],
      o: Parameters<typeof firstText>[2],
    ) => {
      await firstText(model, prompt, o); // warm-up: pipelines for these shapes
      const r: { ms: number; text: string }[] = [];
      for (let i = 0; i < runs; i++) r.push(await firstText(model, prompt, o));
      const ms = median(r.map((x) => x.ms));
      return `${ms.toFixed(1)} ms (first text ${JSON.stringify(r[0].text.slice(0, 24))})`;
    };
    lines.push(
      `first-token latency, tiny-llama chat prompt of ${ids.length} tokens, cli.ts chat options (${schedule}): ${await measure(
        chat.model,
        ids,
        opts,
      )}`,
      `first-token latency, same, read-back every step (chunk 1): ${await measure(
        chat.model,
        ids,
        { ...opts, chunk: 1 },
      )}`,
    );
    const v = bench.cfg.vocabSize;
    const fake = {
      decode: (xs: number[]) => xs.map((x) => String.fromCharCode(97 + x % 26)).join(""),
    };
    const benchOpts = { ...opts, eosTokenIds: [], padTokenId: 0, stopStrings: [], tokenizer: fake };
    lines.push(
      `first-token latency, bench model, ${ids.length}-token prompt, cli.ts chat options (${schedule}): ${await measure(
        bench,
        prompt(ids.length, v, 4),
        benchOpts,
      )}`,
    );
  } finally {
    chat.release();
  }
}

export async function benchDecode(): Promise<string[]> {
  await T.initGpu();
  const cpu = isCpuAdapter();
  const hf = cpu ? TOY : QWEN25_05B;
  const promptLen = cpu ? 64 : 512, newTokens = cpu ? 16 : 128, runs = cpu ? 1 : 3;
  const model = randomModel(hf);
  const v = model.cfg.vocabSize;
  const params = model.parameters().reduce((n, p) => n + p.size, 0);
  const lines = [
    `adapter: ${T.gpu().adapterName}`,
    `model: Qwen2-shaped, hidden ${hf.hidden_size}, ${hf.num_hidden_layers} layers, vocab ${v}, ` +
    `${(params / 1e6).toFixed(1)}M parameters (tied), f32, random weights`,
  ];
  try {
    const long = prompt(promptLen, v, 2);
    const pre = await timeGpu(() => prefillOnce(model, long), cpu ? 1 : 10, 1);
    lines.push(
      `prefill ${promptLen} tokens (batch 1): ${(pre * 1e3).toFixed(1)} ms, ` +
        `${(promptLen / pre).toFixed(0)} tokens/s`,
    );
    const ttft = await median(() => generate(model, [long], { maxNewTokens: 1 }), runs);
    lines.push(
      `generate(maxNewTokens 1) after ${promptLen} tokens, read-back included: ${
        (ttft * 1e3).toFixed(1)
      } ms`,
    );
    const short = [prompt(16, v, 3)];
    const decode = async (label: string, opts: Record<string, unknown>, batch = 1) => {
      const prompts = Array.from(
        { length: batch },
        (_, i) => (i ? prompt(16, v, 3 + i) : short[0]),
      );
      const one = await median(() => generate(model, prompts, { ...opts, maxNewTokens: 1 }), runs);
      const d0 = T.gpu().dispatchCount;
      const all = await median(
        () => generate(model, prompts, { ...opts, maxNewTokens: newTokens + 1 }),
        runs,
      );
      const perStep = (T.gpu().dispatchCount - d0) / runs / (newTokens + 1);
      const step = (all - one) / newTokens;
      lines.push(
        `decode batch ${batch}, ${newTokens} new tokens, ${label}: ${
          (step * 1e3).toFixed(2)
        } ms/step, ` +
          `${(batch / step).toFixed(1)} tokens/s (about ${perStep.toFixed(0)} dispatches/step)`,
      );
    };
    await decode("greedy, read-back every 8 steps", {});
    await decode("greedy, read-back every step", { chunk: 1 });
    await decode("top-k 50, top-p 0.9, T 0.7", {
      doSample: true,
      topK: 50,
      topP: 0.9,
      temperature: 0.7,
    });
    await decode("greedy, read-back every 8 steps", {}, 8);
    await benchFirstToken(model, cpu, lines);
  } finally {
    model.release();
  }
  return lines;
}

if (import.meta.main) console.log((await benchDecode()).join("\n"));
