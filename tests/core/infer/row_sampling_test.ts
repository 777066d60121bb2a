// The GPU sampler with per-row settings: greedy and sampled rows, temperatures, top-k, top-p and
// repetition penalties mixed in one dispatch, each row as it samples alone; draws keyed by each
// row's (seed, stream), not its place in the batch.

import assert from "node:assert/strict";
import { DecodeState, type RowSampling, sampleStep } from "../../../core/infer/mod.ts";
import type { StepSampling } from "../../../core/infer/sampling.ts";
import * as T from "../../../core/tensor/mod.ts";

await T.initGpu();

function randomLogits(rows: number, v: number, seed: number, scale = 3): Float32Array {
  const rng = new T.Rng(seed);
  return Float32Array.from({ length: rows * v }, () => (2 * rng.next() - 1) * scale);
}

/** One sampleStep over [rows, V] logits; the tokens and the processed logits. */
async function run(
  logits: Float32Array,
  v: number,
  opts: StepSampling & { context?: number[][]; penalty?: boolean; step?: number },
): Promise<{ tokens: number[]; processed: Float32Array }> {
  const rows = logits.length / v, step = opts.step ?? 0;
  const context = opts.context ?? Array.from({ length: rows }, () => [0]);
  const state = new DecodeState({
    vocabSize: v,
    maxNew: step + 1,
    context,
    penalty: opts.penalty,
  });
  const x = T.tensor(logits, [rows, v]);
  try {
    sampleStep(x, state, { ...opts, step });
    const all = await state.tokens.data();
    return {
      tokens: Array.from({ length: rows }, (_, r) => all[r * (step + 1) + step]),
      processed: await x.data() as Float32Array,
    };
  } finally {
    x.release();
    state.release();
  }
}

function argmax(x: ArrayLike<number>, from = 0, n = x.length): number {
  let best = from;
  for (let j = from + 1; j < from + n; j++) if (x[j] > x[best]) best = j;
  return best - from;
}

const softmax = (y: number[]) => {
  const m = Math.max(...y);
  const e = y.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};

/** Draw frequencies within 4.5 sigma + 2 / n of the probabilities. */
function assertFrequencies(tokens: number[], probs: number[], what: string) {
  const n = tokens.length;
  const counts = new Array(probs.length).fill(0);
  for (const t of tokens) counts[t]++;
  probs.forEach((p, i) => {
    const f = counts[i] / n, tol = 4.5 * Math.sqrt((p * (1 - p)) / n) + 2 / n;
    assert.ok(Math.abs(f - p) <= tol, `${what}, token ${i}: frequency ${f} vs ${p}`);
  });
}

Deno.test("sampleStep() samples each row with its own temperature beside greedy rows", async () => {
  // Rows cycle greedy, T = 0.6, T = 1.7 over the same logits: 3 * 700 rows.
  const row = [1.5, -0.3, 0.8, 2.1, -2, 0.05];
  const v = row.length, draws = 700;
  const settings: RowSampling[] = [{}, { doSample: true, temperature: 0.6 }, {
    doSample: true,
    temperature: 1.7,
  }];
  const logits = new Float32Array(3 * draws * v);
  for (let r = 0; r < 3 * draws; r++) logits.set(row, r * v);
  const rows = Array.from({ length: 3 * draws }, (_, r) => settings[r % 3]);
  const { tokens, processed } = await run(logits, v, { seed: 4, rows });
  const of = (k: number) => tokens.filter((_, r) => r % 3 === k);
  assert.deepEqual(of(0), new Array(draws).fill(argmax(row)));
  for (const k of [1, 2]) {
    const t = settings[k].temperature!;
    assertFrequencies(of(k), softmax(row.map((x) => x / t)), `T = ${t}`);
    row.forEach((x, i) => assert.ok(Math.abs(processed[k * v + i] - x / t) < 1e-6));
  }
  assert.deepEqual([...processed.subarray(0, v)], row.map(Math.fround)); // greedy: untouched
});

Deno.test("sampleStep() per-row topK 1 equals greedy while the other rows sample as alone", async () => {
  const v = 301, rows = 12;
  const logits = randomLogits(rows, v, 2, 1);
  const hot = { doSample: true, temperature: 1.3, seed: 9 };
  const alone = await run(logits, v, hot);
  // Even rows keep one token; odd rows sample (top-p on some) with the uniform run's settings.
  const mixed = await run(logits, v, {
    ...hot,
    rows: [...Array(rows).keys()].map((r) =>
      r % 2 ? (r % 4 === 1 ? {} : { topP: 1 }) : { topK: 1 }
    ),
  });
  for (let r = 0; r < rows; r++) {
    const want = r % 2 ? alone.tokens[r] : argmax(logits, r * v, v);
    assert.equal(mixed.tokens[r], want, `row ${r}`);
  }
  assert.ok(alone.tokens.some((t, r) => t !== argmax(logits, r * v, v)), "nothing was sampled");
});

Deno.test("sampleStep() per-row top-k and top-p match each row's uniform run", async () => {
  const v = 40, rows = 9;
  const logits = randomLogits(rows, v, 6, 1.5);
  const kinds: RowSampling[] = [{ topK: 5 }, { topP: 0.7, temperature: 0.8 }, {
    topK: 8,
    topP: 0.5,
    doSample: false,
  }];
  const mixed = await run(logits, v, {
    doSample: true,
    seed: 3,
    rows: [...Array(rows).keys()].map((r) => kinds[r % 3]),
  });
  for (const [k, o] of kinds.entries()) {
    const alone = await run(logits, v, { doSample: true, seed: 3, ...o });
    for (let r = k; r < rows; r += 3) assert.equal(mixed.tokens[r], alone.tokens[r], `row ${r}`);
  }
});

Deno.test("sampleStep() draws follow each row's seed and stream, not its place", async () => {
  const v = 37, rows = 16;
  const row = [...randomLogits(1, v, 5, 1)];
  const logits = new Float32Array(rows * v);
  for (let r = 0; r < rows; r++) logits.set(row, r * v);
  const streams = [...Array(rows).keys()];
  const a = await run(logits, v, {
    doSample: true,
    seed: 8,
    rows: streams.map((s) => ({ stream: s })),
  });
  // Reversed order, seeds given per row: each stream draws the same token.
  const b = await run(logits, v, {
    doSample: true,
    rows: streams.map((s) => ({ stream: rows - 1 - s, seed: 8 })),
  });
  assert.deepEqual(b.tokens, [...a.tokens].reverse());
  assert.ok(new Set(a.tokens).size > 1, "every stream drew the same token");
  // The default stream is the row index: the uniform call draws as before.
  const c = await run(logits, v, { doSample: true, seed: 8 });
  assert.deepEqual(c.tokens, a.tokens);
  const d = await run(logits, v, {
    doSample: true,
    seed: 1,
    rows: streams.map(() => ({ seed: 8 })),
  });
  assert.deepEqual(d.tokens, a.tokens);
});

Deno.test("sampleStep() draws of a row resumed at firstStep k continue its step-k draws", async () => {
  const v = 37, rows = 16, k = 5;
  const row = [...randomLogits(1, v, 7, 1)];
  const logits = new Float32Array(rows * v);
  for (let r = 0; r < rows; r++) logits.set(row, r * v);
  const atK = await run(logits, v, { doSample: true, seed: 4, step: k });
  const resumed = await run(logits, v, {
    doSample: true,
    seed: 4,
    rows: Array.from({ length: rows }, () => ({ firstStep: k })),
  });
  assert.deepEqual(resumed.tokens, atK.tokens);
  const fresh = await run(logits, v, { doSample: true, seed: 4 });
  assert.notDeepEqual(fresh.tokens, atK.tokens, "the draws do not depend on the step");
});

Deno.test("sampleStep() applies a repetition penalty to its own rows only", async () => {
  const v = 53, rows = 6, penalty = 1.8;
  const logits = randomLogits(rows, v, 4);
  // Context: each row's top two tokens, so a penalty moves the argmax.
  const context = [...Array(rows).keys()].map((r) => {
    const x = [...logits.subarray(r * v, (r + 1) * v)];
    return [...x.keys()].sort((a, b) => x[b] - x[a]).slice(0, 2);
  });
  const { tokens } = await run(logits, v, {
    context,
    penalty: true,
    rows: context.map((_, r) => ({ repetitionPenalty: r % 2 ? 1 : penalty })),
  });
  context.forEach((c, r) => {
    const x = [...logits.subarray(r * v, (r + 1) * v)];
    if (r % 2 === 0) { for (const id of c) x[id] = x[id] < 0 ? x[id] * penalty : x[id] / penalty; }
    assert.equal(tokens[r], argmax(x), `row ${r}`);
  });
  assert.ok(tokens.some((t, r) => r % 2 === 0 && t !== argmax(logits, r * v, v)), "no effect");
});

Deno.test("sampleStep() rejects bad per-row settings", () => {
  const state = new DecodeState({ vocabSize: 4, maxNew: 1, context: [[0], [1]] });
  const x = T.zeros([2, 4]);
  try {
    assert.throws(() => sampleStep(x, state, { step: 0, rows: [{}] }), {
      name: "TypeError",
      message: /1 row settings for a batch of 2 rows/,
    });
    assert.throws(
      () => sampleStep(x, state, { step: 0, rows: [{}, { doSample: true, temperature: -1 }] }),
      /temperature -1/,
    );
    assert.throws(() => sampleStep(x, state, { step: 0, rows: [{ stream: -1 }, {}] }), RangeError);
    assert.throws(
      () => sampleStep(x, state, { step: 0, rows: [{ firstStep: 1.5 }, {}] }),
      RangeError,
    );
    assert.throws(
      () => sampleStep(x, state, { step: 0, rows: [{}, { repetitionPenalty: 1.1 }] }),
      /penalty: true/,
    );
  } finally {
    x.release();
    state.release();
  }
});
