// The batching engine on the qwen2 fixture (a tiny random checkpoint) with a one-letter-per-token
// decoder: rows equal their runs alone, each ends on its own terms, batches group by settings,
// cancelled rows free their place.

import assert from "node:assert/strict";
import { Batcher, type BatchRow } from "../../../core/infer/batcher.ts";
import { generate, type TextDecoding } from "../../../core/infer/mod.ts";
import type { ModelFamily } from "../../../core/model/family.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import * as T from "../../../core/tensor/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";

await T.initGpu();
const DIR = new URL("../../fixtures/models/qwen2", import.meta.url).pathname;
const { model } = await loadModel(DIR, new Registry<ModelFamily>("model", modelFamilies));

/** One letter per token id, so text positions are token positions. */
const letters: TextDecoding = {
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(""),
};

/** Prompts of different lengths (so the batch is left-padded). */
function prompts(count: number): number[][] {
  const rng = new T.Rng(3);
  return Array.from(
    { length: count },
    (_, i) => Array.from({ length: 2 + i * 3 }, () => rng.int(256)),
  );
}

async function drain(row: BatchRow): Promise<string> {
  let text = "";
  for await (const d of row) text += d;
  return text;
}

/** The text `prompt` gets alone, through generate(). */
async function alone(prompt: number[], opts: Parameters<typeof generate>[2]): Promise<string> {
  const [ids] = await generate(model, [prompt], opts);
  return letters.decode(ids.filter((id) => !(opts.eosTokenIds ?? []).includes(id)));
}

Deno.test("8 greedy requests submitted together run as one batch, each row as it runs alone", async () => {
  const engine = new Batcher(model, { tokenizer: letters });
  const ps = prompts(8);
  const rows = ps.map((p, i) => engine.submit({ prompt: p, maxNewTokens: 5 + i })[0]);
  const texts = await Promise.all(rows.map(drain));
  for (const [i, p] of ps.entries()) {
    assert.equal(texts[i], await alone(p, { maxNewTokens: 5 + i }), `row ${i}`);
    assert.equal(rows[i].finishReason, "length");
    assert.equal(rows[i].completionTokens, 5 + i);
    assert.equal(rows[i].text, texts[i]);
  }
  assert.deepEqual(engine.stats, {
    batches: 1,
    rows: 8,
    maxRows: 8,
    refills: 0,
    active: 0,
    waiting: 0,
  });
});

Deno.test("each row ends at its own EOS or stop string while the others go on", async () => {
  const ps = prompts(3);
  const base = await Promise.all(ps.map((p) => alone(p, { maxNewTokens: 12 })));
  // Row 0 stops at a string from the middle of its text; row 1 at an id it makes at step 3.
  const stop = base[0].slice(4, 6);
  const [ids1] = await generate(model, [ps[1]], { maxNewTokens: 12 });
  const eos = ids1[3];
  const engine = new Batcher(model, { tokenizer: letters, chunk: 3 });
  const [r0] = engine.submit({ prompt: ps[0], maxNewTokens: 12, stopStrings: ["qqqqqq", stop] });
  const [r1] = engine.submit({ prompt: ps[1], maxNewTokens: 12, eosTokenIds: [eos] });
  const [r2] = engine.submit({ prompt: ps[2], maxNewTokens: 12, eosTokenIds: [eos] });
  const [t0, t1, t2] = await Promise.all([r0, r1, r2].map(drain));
  assert.equal(t0, base[0].slice(0, base[0].indexOf(stop)));
  assert.equal(r0.finishReason, "stop");
  assert.equal(r0.completionTokens, base[0].indexOf(stop) + stop.length);
  assert.equal(t1, letters.decode(ids1.slice(0, ids1.indexOf(eos))));
  assert.equal(r1.finishReason, "stop");
  assert.equal(r1.completionTokens, ids1.indexOf(eos) + 1);
  assert.equal(t2, await alone(ps[2], { maxNewTokens: 12, eosTokenIds: [eos] }));
  // Rows 1 and 2 share EOS ids so they share a batch; row 0 (no EOS ids) runs alone.
  assert.equal(engine.stats.batches, 2);
});

Deno.test("batches hold at most maxBatch rows, with one EOS and pad setting", async () => {
  const engine = new Batcher(model, { tokenizer: letters, maxBatch: 3 });
  const [p] = prompts(1);
  const hot = { doSample: true, temperature: 1.5, topK: 20 };
  const order = ["g", "s", "g", "g", "g", "s", "g"];
  const rows = order.map((k) =>
    engine.submit({ prompt: p, maxNewTokens: 4, ...(k === "s" ? hot : {}) })[0]
  );
  const texts = await Promise.all(rows.map(drain));
  // Greedy rows 0, 2, 3 first (the oldest row's setting), then both sampled rows, then 4 and 6.
  assert.deepEqual(engine.stats, {
    batches: 3,
    rows: 7,
    maxRows: 3,
    refills: 0,
    active: 0,
    waiting: 0,
  });
  const greedy = await alone(p, { maxNewTokens: 4 });
  order.forEach((k, i) => k === "g" && assert.equal(texts[i], greedy, `row ${i}`));
});

Deno.test("n sampled rows draw different texts and a seed reproduces them", async () => {
  const engine = new Batcher(model, { tokenizer: letters });
  const [p] = prompts(1);
  const opts = { prompt: p, maxNewTokens: 10, doSample: true, temperature: 1.5, n: 4 };
  const a = await Promise.all(engine.submit({ ...opts, seed: 7 }).map(drain));
  const b = await Promise.all(engine.submit({ ...opts, seed: 7 }).map(drain));
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size > 1, `every choice drew ${a[0]}`);
  const gen = { maxNewTokens: 10, doSample: true, temperature: 1.5, seed: 7 };
  assert.equal(a[0], await alone(p, gen));
  // Unseeded requests get a fresh seed per batch.
  const c = await Promise.all(engine.submit({ ...opts, n: 1 }).map(drain));
  const d = await Promise.all(engine.submit({ ...opts, n: 1 }).map(drain));
  assert.notEqual(c[0], d[0]);
});

Deno.test("requests with different temperatures, greedy and seeded ones share one batch", async () => {
  const engine = new Batcher(model, { tokenizer: letters });
  const ps = prompts(3);
  const seeded = {
    prompt: ps[0],
    maxNewTokens: 8,
    doSample: true,
    temperature: 1.2,
    repetitionPenalty: 1.3,
    seed: 11,
    n: 2,
  };
  const rows = [
    engine.submit({ prompt: ps[0], maxNewTokens: 6 })[0],
    engine.submit({ prompt: ps[1], maxNewTokens: 8, doSample: true, temperature: 0.7 })[0],
    engine.submit({
      prompt: ps[2],
      maxNewTokens: 7,
      doSample: true,
      temperature: 1.5,
      topP: 0.9,
    })[0],
    ...engine.submit(seeded),
  ];
  const texts = await Promise.all(rows.map(drain));
  assert.deepEqual(engine.stats, {
    batches: 1,
    rows: 5,
    maxRows: 5,
    refills: 0,
    active: 0,
    waiting: 0,
  });
  assert.equal(texts[0], await alone(ps[0], { maxNewTokens: 6 }));
  [8, 7, 8, 8].forEach((n, i) => assert.equal(rows[i + 1].completionTokens, n));
  // A seeded request draws the same with other batch-mates, or none, as through generate().
  const { prompt: _, n: __, ...gen } = seeded;
  assert.equal(texts[3], await alone(ps[0], gen));
  const again = await Promise.all(engine.submit(seeded).map(drain));
  assert.deepEqual(again, texts.slice(3));
  assert.notEqual(texts[3], texts[4]);
});

Deno.test("requests arriving during a batch join it and finish first; every row as alone", async () => {
  const engine = new Batcher(model, { tokenizer: letters, chunk: 2 });
  const [p, q, r] = prompts(3);
  const sampled = { maxNewTokens: 10, doSample: true, temperature: 1.3, seed: 5 };
  // The long row samples with a seed: resumed after the refill, it must draw as it would have.
  const longOpts = { maxNewTokens: 60, doSample: true, temperature: 1.3, seed: 9 };
  const long = engine.submit({ prompt: p, ...longOpts })[0];
  const it = long[Symbol.asyncIterator]();
  let longText = (await it.next()).value as string; // the batch runs
  const late = [
    engine.submit({ prompt: q, maxNewTokens: 4 })[0],
    engine.submit({ prompt: r, ...sampled })[0],
  ];
  const [short, drawn] = await Promise.all(late.map(drain));
  assert.equal(long.finishReason, null, "the late requests waited for the long one");
  for (let d = await it.next(); !d.done; d = await it.next()) longText += d.value;
  assert.equal(engine.stats.batches, 1);
  assert.ok(engine.stats.refills >= 1, JSON.stringify(engine.stats));
  assert.equal(short, await alone(q, { maxNewTokens: 4 }));
  assert.equal(drawn, await alone(r, sampled));
  assert.equal(longText, await alone(p, longOpts));
  assert.equal(long.completionTokens, 60);
});

Deno.test("with continuous: false a request arriving during a batch waits for it", async () => {
  const engine = new Batcher(model, { tokenizer: letters, chunk: 2, continuous: false });
  const [p, q] = prompts(2);
  const long = engine.submit({ prompt: p, maxNewTokens: 30 })[0];
  const it = long[Symbol.asyncIterator]();
  await it.next(); // the batch runs
  const short = engine.submit({ prompt: q, maxNewTokens: 4 })[0];
  assert.equal(await drain(short), await alone(q, { maxNewTokens: 4 }));
  assert.equal(long.finishReason, "length");
  await it.return!(undefined);
  assert.deepEqual([engine.stats.batches, engine.stats.refills], [2, 0]);
});

Deno.test("a model with learned positions keeps static batches", async () => {
  const gpt2 = (await loadModel(
    new URL("../../fixtures/models/gpt2", import.meta.url).pathname,
    new Registry<ModelFamily>("model", modelFamilies),
  )).model;
  try {
    const engine = new Batcher(gpt2, { tokenizer: letters, chunk: 2 });
    const [p, q] = prompts(2);
    const long = engine.submit({ prompt: p, maxNewTokens: 30 })[0];
    const it = long[Symbol.asyncIterator]();
    await it.next(); // the batch runs
    await drain(engine.submit({ prompt: q, maxNewTokens: 4 })[0]);
    assert.equal(long.finishReason, "length");
    await it.return!(undefined);
    assert.deepEqual([engine.stats.batches, engine.stats.refills], [2, 0]);
  } finally {
    gpt2.release();
  }
});

Deno.test("cancelled rows leave the queue and a batch whose rows all left stops", async () => {
  const g = T.gpu();
  const read = g.read;
  let reads = 0;
  g.read = (...args) => {
    reads++;
    return read.apply(g, args);
  };
  try {
    const engine = new Batcher(model, { tokenizer: letters, chunk: 2 });
    const [p, q] = prompts(2);
    const long = engine.submit({ prompt: p, maxNewTokens: 200 })[0];
    const it = long[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false); // the batch runs
    assert.equal(engine.stats.active, 1);
    const ac = new AbortController();
    const waiting = engine.submit({ prompt: q, maxNewTokens: 4, signal: ac.signal })[0];
    assert.equal(engine.stats.waiting, 1);
    ac.abort();
    assert.equal(engine.stats.waiting, 0);
    assert.equal(waiting.finishReason, "abort");
    assert.equal(await drain(waiting), "");
    await it.return!(undefined); // the consumer leaves
    assert.equal(long.finishReason, "abort");
    assert.equal(engine.stats.active, 0);
    await engine.idle();
    assert.ok(reads < 20, `${reads} read-backs: the 200-token batch did not stop`);
    // The engine serves the next request.
    const next = engine.submit({ prompt: q, maxNewTokens: 4 })[0];
    assert.equal(await drain(next), await alone(q, { maxNewTokens: 4 }));
    assert.equal(engine.stats.batches, 2);
  } finally {
    g.read = read;
  }
});

Deno.test("submit() refuses bad requests before queueing them", () => {
  const engine = new Batcher(model, { tokenizer: letters });
  const [p] = prompts(1);
  assert.throws(() => engine.submit({ prompt: p, maxNewTokens: 0 }), RangeError);
  assert.throws(() => engine.submit({ prompt: [], maxNewTokens: 2 }), /every prompt needs/);
  assert.throws(() => engine.submit({ prompt: [1, 256], maxNewTokens: 2 }), /token id 256/);
  assert.throws(() => engine.submit({ prompt: p, maxNewTokens: 2, n: 0 }), RangeError);
  assert.throws(
    () => engine.submit({ prompt: p, maxNewTokens: 2, doSample: true, temperature: 0 }),
    /temperature/,
  );
  assert.throws(() => new Batcher(model, { tokenizer: letters, maxBatch: 0 }), RangeError);
  assert.throws(() => new Batcher(model, { tokenizer: letters, chunk: 0 }), RangeError);
  assert.deepEqual(engine.stats, {
    batches: 0,
    rows: 0,
    maxRows: 0,
    refills: 0,
    active: 0,
    waiting: 0,
  });
});

globalThis.addEventListener("unload", () => model.release());
