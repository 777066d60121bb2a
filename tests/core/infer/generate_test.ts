// The generation loop on the qwen2 fixture (a tiny random checkpoint): EOS per row, stop strings,
// read-backs per chunk, flat memory, repetition penalty across steps, seeded sampling.

import assert from "node:assert/strict";
import { generate, generateChunks, type TextDecoding } from "../../../core/infer/mod.ts";
import { isReadPoint } from "../../../core/infer/generate.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import type { ModelFamily } from "../../../core/model/family.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import * as T from "../../../core/tensor/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";

await T.initGpu();
const DIR = new URL("../../fixtures/models/qwen2", import.meta.url).pathname;
const { model } = await loadModel(DIR, new Registry<ModelFamily>("model", modelFamilies));
const PROMPTS = [[5, 17, 99, 3, 250, 41, 8, 77], [12, 200, 33]];

/** One letter per token id, so text positions are token positions. */
const letters: TextDecoding = {
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(""),
};

Deno.test("generate() ends each row at its own EOS", async () => {
  const base = await generate(model, PROMPTS, { maxNewTokens: 12 });
  // An EOS id that row 0 produces first at step 4 or later.
  const k = base[0].findIndex((t, i) => i >= 4 && base[0].indexOf(t) === i);
  assert.ok(k >= 0, "row 0 repeats itself; pick another prompt");
  const eos = base[0][k];
  const cut = (row: number[]) => (row.includes(eos) ? row.slice(0, row.indexOf(eos) + 1) : row);
  const got = await generate(model, PROMPTS, { maxNewTokens: 12, eosTokenIds: [eos], chunk: 3 });
  assert.deepEqual(got, base.map(cut));
  assert.equal(got[0].length, k + 1);
});

Deno.test("a 16-token generation reads back only at its read points", async () => {
  const g = T.gpu();
  const read = g.read;
  let reads = 0;
  g.read = (...args) => {
    reads++;
    return read.apply(g, args);
  };
  try {
    const want = await generate(model, PROMPTS, { maxNewTokens: 16, chunk: 1 });
    for (const chunk of [1, 3, 8, 16]) {
      reads = 0;
      const got = await generate(model, PROMPTS, { maxNewTokens: 16, chunk });
      assert.deepEqual(got, want, `chunk ${chunk}`);
      // Read points: 1, 2, 4, ... below chunk, then multiples of chunk, and the last step.
      let points = 0;
      for (let s = 1; s <= 16; s++) if (isReadPoint(s, chunk) || s === 16) points++;
      assert.ok(points <= Math.ceil(16 / chunk) + Math.log2(chunk) + 1, `chunk ${chunk}`);
      assert.ok(reads <= points, `chunk ${chunk}: ${reads} read-backs for ${points} points`);
    }
  } finally {
    g.read = read;
  }
});

Deno.test("the first chunk holds one token per row, then chunks grow to the chunk size", async () => {
  const sizes: number[] = [];
  let seen = 0;
  for await (const c of generateChunks(model, PROMPTS, { maxNewTokens: 24, chunk: 8 })) {
    sizes.push(c.tokens[0].length - seen);
    seen = c.tokens[0].length;
  }
  assert.deepEqual(sizes.slice(0, 4), [1, 1, 2, 4]);
  assert.ok(sizes.slice(4).every((n) => n === 8), `chunk sizes ${sizes}`);
});

Deno.test("decode steps keep GPU memory flat and generation releases it all", async () => {
  const pool = T.gpu().pool;
  await generate(model, PROMPTS, { maxNewTokens: 4 }); // warm the pool's buckets
  const before = pool.bytesInUse;
  const during: number[] = [];
  for await (const _ of generateChunks(model, PROMPTS, { maxNewTokens: 24, chunk: 2 })) {
    during.push(pool.bytesInUse);
  }
  assert.ok(during.length >= 10, `${during.length} chunks`);
  assert.ok(during.every((b) => b === during[0]), `bytes in use per chunk: ${during}`);
  assert.ok(during[0] > before, "the cache and state live during generation");
  assert.equal(pool.bytesInUse, before);
});

Deno.test("a stop string ends its row at the token that completes it", async () => {
  const base = await generate(model, PROMPTS, { maxNewTokens: 14 });
  const text = letters.decode(base[0]);
  const stop = text.slice(5, 8); // completed by token 7 at the latest
  const end = text.indexOf(stop) + stop.length;
  const got = await generate(model, PROMPTS, {
    maxNewTokens: 14,
    stopStrings: ["zzzzzzzz", stop],
    tokenizer: letters,
    chunk: 4,
  });
  assert.deepEqual(got[0], base[0].slice(0, end));
  const other = letters.decode(base[1]);
  const end1 = other.includes(stop) ? other.indexOf(stop) + stop.length : other.length;
  assert.deepEqual(got[1], base[1].slice(0, end1));
});

Deno.test("the repetition penalty covers prompt and generated tokens at every step", async () => {
  const penalty = 1.6, steps = 6;
  // Prompts that hold the tokens greedy decoding picks, so the penalty changes choices.
  const picks = await generate(model, PROMPTS, { maxNewTokens: steps });
  const prompts = PROMPTS.map((p, r) => [...picks[r], ...p]);
  const got = await generate(model, prompts, { maxNewTokens: steps, repetitionPenalty: penalty });
  for (const [r, prompt] of prompts.entries()) {
    const ctx = [...prompt];
    for (let s = 0; s < steps; s++) {
      const logits = await fullLogits(model, ctx);
      for (const id of new Set(ctx)) {
        logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
      }
      ctx.push(logits.indexOf(Math.max(...logits)));
    }
    assert.deepEqual(got[r], ctx.slice(prompt.length), `row ${r}`);
  }
  const plain = await generate(model, prompts, { maxNewTokens: steps });
  assert.notDeepEqual(got, plain, "the penalty changed nothing");
});

Deno.test("seeded sampling through generate() is reproducible", async () => {
  const opts = { maxNewTokens: 10, doSample: true, topK: 20, topP: 0.9, temperature: 1.5 };
  const a = await generate(model, PROMPTS, { ...opts, seed: 7 });
  const b = await generate(model, PROMPTS, { ...opts, seed: 7, chunk: 3 });
  const c = await generate(model, PROMPTS, { ...opts, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("a batch mixing a greedy row and two sampled rows gives each its solo output", async () => {
  const prompts = [PROMPTS[0], PROMPTS[1], PROMPTS[0]];
  const hot = [{ temperature: 0.7, seed: 3 }, { temperature: 1.8, topP: 0.95, seed: 4 }];
  // Sampled rows draw from stream 0 of their seed, as row 0 of a batch of one does.
  const rows = [{}, ...hot.map((o) => ({ ...o, doSample: true, stream: 0 }))];
  const got = await generate(model, prompts, { maxNewTokens: 10, rows });
  const [greedy] = await generate(model, [prompts[0]], { maxNewTokens: 10 });
  assert.deepEqual(got[0], greedy);
  for (const [k, o] of hot.entries()) {
    const row = got[k + 1];
    assert.ok(row.every((id) => Number.isInteger(id) && id >= 0 && id < model.cfg.vocabSize));
    const [alone] = await generate(model, [prompts[k + 1]], {
      maxNewTokens: 10,
      doSample: true,
      ...o,
    });
    assert.deepEqual(row, alone, `sampled row ${k + 1}`);
  }
  assert.notDeepEqual(got[2], greedy, "row 2 sampled its prompt's greedy reply");
});

Deno.test("per-row topK 1 decodes greedily while another row samples", async () => {
  const opts = { maxNewTokens: 10, doSample: true, temperature: 1.5, seed: 6 };
  const got = await generate(model, PROMPTS, { ...opts, rows: [{ topK: 1 }, {}] });
  const greedy = await generate(model, PROMPTS, { maxNewTokens: 10 });
  const sampled = await generate(model, PROMPTS, opts);
  assert.deepEqual(got[0], greedy[0]);
  assert.deepEqual(got[1], sampled[1]);
  assert.notDeepEqual(got[1], greedy[1], "row 1 drew its greedy reply");
});

Deno.test("generate() rejects bad requests before touching the GPU", async () => {
  await assert.rejects(generate(model, PROMPTS, { maxNewTokens: 0 }), RangeError);
  await assert.rejects(generate(model, [[1], []], { maxNewTokens: 2 }), /every prompt needs/);
  await assert.rejects(generate(model, [[1, 256]], { maxNewTokens: 2 }), /token id 256/);
  await assert.rejects(
    generate(model, PROMPTS, { maxNewTokens: 2, stopStrings: ["x"] }),
    /without a tokenizer/,
  );
  await assert.rejects(generate(model, PROMPTS, { maxNewTokens: 2, chunk: 0 }), RangeError);
});

/** Last-position logits of one unpadded row, by a full forward (no cache). */
async function fullLogits(m: Decoder, row: number[]): Promise<number[]> {
  const y = T.noGrad(() =>
    T.scope(() => {
      const logits = m.forward(T.tensor(Int32Array.from(row), [1, row.length], { dtype: "i32" }));
      return T.slice(logits, 1, row.length - 1, row.length);
    })
  );
  const out = [...await y.data()];
  y.release();
  return out;
}

globalThis.addEventListener("unload", () => model.release());
