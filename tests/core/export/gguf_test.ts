// GGUF export checked with @huggingface/gguf's parser: llama.cpp's metadata keys with the value
// types its loader demands, llama.cpp tensor names, shapes, types and offsets, and the tensor
// data read back at those offsets (f16 to f16 rounding, q8_0 within its block error) against
// the q/k-permuted source weights; the permutation itself checked against both RoPE layouts.

import assert from "node:assert/strict";
import { gguf, GGUFValueType } from "@huggingface/gguf";
import {
  dequantizeQ8_0,
  exportGguf,
  ggufTensorName,
  type GgufType,
  permuteRope,
  quantizeQ8_0,
} from "../../../core/export/mod.ts";
import { readF32 } from "../../../core/method/_host.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import { loadModel } from "../../../core/model/load.ts";
import * as T from "../../../core/tensor/mod.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

await T.initGpu();
const reg = builtinRegistries();
const TINY = new URL("../../../models/tiny-llama", import.meta.url).pathname;

// Serves a local file to the parser's ranged fetches.
function fileFetch(bytes: Uint8Array): typeof fetch {
  return ((_: unknown, init?: RequestInit) => {
    const range = new Headers(init?.headers).get("Range");
    const m = range ? /bytes=(\d+)-(\d+)/.exec(range) : null;
    const body = m ? bytes.slice(Number(m[1]), Number(m[2]) + 1) : bytes;
    return Promise.resolve(
      new Response(body as Uint8Array<ArrayBuffer>, { status: m ? 206 : 200 }),
    );
  }) as typeof fetch;
}

/** Exports the tiny model as `type` and parses the file back. */
async function exportAndParse(model: Decoder, type: GgufType) {
  const tmp = await Deno.makeTempDir();
  try {
    await exportGguf(model, `${tmp}/m.gguf`, { type, tokenizerDir: TINY });
    const bytes = await Deno.readFile(`${tmp}/m.gguf`);
    const parsed = await gguf("https://local/m.gguf", {
      fetch: fileFetch(bytes),
      typedMetadata: true,
    });
    return { bytes, ...parsed };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** A parameter as f32, q/k rows permuted as llama.cpp stores them. */
async function expected(model: Decoder, name: string, p: T.Tensor): Promise<Float32Array> {
  const [w] = await readF32([p]);
  if (name.endsWith("q_proj.weight")) return permuteRope(w, p.shape[0], model.cfg.numHeads);
  if (name.endsWith("k_proj.weight")) return permuteRope(w, p.shape[0], model.cfg.numKvHeads);
  return w;
}

Deno.test("exportGguf() writes the metadata keys llama.cpp's llama loader reads, with its types", async () => {
  const { model } = await loadModel(TINY, reg.models);
  try {
    const { typedMetadata: md } = await exportAndParse(model, "f16");
    const cfg = model.cfg;
    const want: [string, GGUFValueType, unknown, GGUFValueType?][] = [
      ["general.architecture", GGUFValueType.STRING, "llama"],
      ["general.file_type", GGUFValueType.UINT32, 1],
      ["llama.context_length", GGUFValueType.UINT32, cfg.maxPositions],
      ["llama.embedding_length", GGUFValueType.UINT32, cfg.hiddenSize],
      ["llama.block_count", GGUFValueType.UINT32, cfg.numLayers],
      ["llama.feed_forward_length", GGUFValueType.UINT32, cfg.intermediateSize],
      ["llama.attention.head_count", GGUFValueType.UINT32, cfg.numHeads],
      ["llama.attention.head_count_kv", GGUFValueType.UINT32, cfg.numKvHeads],
      ["llama.rope.dimension_count", GGUFValueType.UINT32, cfg.headDim],
      ["llama.rope.freq_base", GGUFValueType.FLOAT32, cfg.rope!.full.theta],
      ["llama.attention.layer_norm_rms_epsilon", GGUFValueType.FLOAT32, Math.fround(cfg.normEps)],
      ["tokenizer.ggml.model", GGUFValueType.STRING, "gpt2"],
      ["tokenizer.ggml.tokens", GGUFValueType.ARRAY, undefined, GGUFValueType.STRING],
      ["tokenizer.ggml.token_type", GGUFValueType.ARRAY, undefined, GGUFValueType.INT32],
      ["tokenizer.ggml.merges", GGUFValueType.ARRAY, undefined, GGUFValueType.STRING],
      ["tokenizer.ggml.bos_token_id", GGUFValueType.UINT32, 1846],
      ["tokenizer.ggml.eos_token_id", GGUFValueType.UINT32, 1847],
    ];
    for (const [key, type, value, subType] of want) {
      const got = md[key];
      assert.ok(got, `${key} is missing`);
      assert.equal(got.type, type, `${key} has type ${got.type}`);
      if (subType !== undefined) assert.equal(got.subType, subType, `${key} items`);
      if (value !== undefined) assert.equal(got.value, value, key);
    }
    const tokens = md["tokenizer.ggml.tokens"].value as string[];
    const types = md["tokenizer.ggml.token_type"].value as number[];
    assert.equal(tokens.length, cfg.vocabSize);
    assert.equal(types.length, cfg.vocabSize);
    const tj = JSON.parse(await Deno.readTextFile(`${TINY}/tokenizer.json`));
    assert.equal(tokens[md["tokenizer.ggml.bos_token_id"].value as number], "<|begin_of_text|>");
    assert.equal(tokens[md["tokenizer.ggml.eos_token_id"].value as number], "<|end_of_text|>");
    // llama.cpp's token types: NORMAL 1, CONTROL 3 (special added tokens), UNUSED 5 (padding).
    assert.equal(types[1846], 3);
    assert.equal(types[tj.model.vocab["a"]], 1);
    const known = new Set<number>([
      ...Object.values(tj.model.vocab as Record<string, number>),
      ...tj.added_tokens.map((a: { id: number }) => a.id),
    ]);
    for (let id = 0; id < cfg.vocabSize; id++) {
      if ((types[id] === 5) === known.has(id)) assert.fail(`token ${id} has type ${types[id]}`);
    }
    const tc = JSON.parse(await Deno.readTextFile(`${TINY}/tokenizer_config.json`));
    assert.equal(md["tokenizer.chat_template"]?.type, GGUFValueType.STRING);
    assert.equal(md["tokenizer.chat_template"].value, tc.chat_template);
    const merges = md["tokenizer.ggml.merges"].value as string[];
    const first = tj.model.merges[0];
    assert.equal(merges[0], typeof first === "string" ? first : first.join(" "));
    assert.equal(merges.length, tj.model.merges.length);
  } finally {
    model.release();
  }
});

for (const type of ["f16", "q8_0"] as const) {
  Deno.test(`exportGguf() ${type}: llama.cpp names, and the data at the header's offsets matches the weights`, async () => {
    const { model } = await loadModel(TINY, reg.models);
    try {
      const { bytes, tensorInfos, tensorDataOffset } = await exportAndParse(model, type);
      const params = [...model.namedParameters()];
      const L = model.cfg.numLayers;
      const names = tensorInfos.map((t) => t.name);
      // Tied embeddings: llama.cpp reuses token_embd, so no output.weight.
      assert.deepEqual(names, params.map(([n]) => ggufTensorName(n)));
      for (const n of ["token_embd.weight", "output_norm.weight"]) assert.ok(names.includes(n));
      for (const s of ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output"]) {
        assert.ok(names.includes(`blk.${L - 1}.${s}.weight`), s);
      }
      for (const s of ["ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]) {
        assert.ok(names.includes(`blk.0.${s}.weight`), s);
      }
      assert.ok(!names.includes("output.weight"));
      const ggml = { f32: 0, f16: 1, q8_0: 8 } as const;
      for (const [i, info] of tensorInfos.entries()) {
        const [name, p] = params[i];
        assert.deepEqual(info.shape.map(Number), [...p.shape].reverse(), name);
        const t = p.rank === 2 ? type : "f32";
        assert.equal(info.dtype, ggml[t], name);
        const size = t === "q8_0" ? (p.size / 32) * 34 : p.size * (t === "f16" ? 2 : 4);
        const start = Number(tensorDataOffset + info.offset);
        assert.equal(start % 32, 0, `${name} is not 32-byte aligned`);
        const data = bytes.slice(start, start + size);
        const w = await expected(model, name, p);
        if (t === "f32") assert.deepEqual(new Float32Array(data.buffer), w, name);
        else if (t === "f16") {
          const got = new Float16Array(data.buffer);
          for (let j = 0; j < w.length; j++) {
            // Round to nearest: within half an f16 ulp (2^-11 relative; 2^-25 for subnormals).
            const tol = Math.max(Math.abs(w[j]) * 2 ** -11, 2 ** -25);
            if (Math.abs(got[j] - w[j]) > tol) assert.fail(`${name}[${j}]: ${got[j]} vs ${w[j]}`);
          }
        } else {
          const got = dequantizeQ8_0(data);
          for (let b = 0; b < w.length; b += 32) {
            let amax = 0;
            for (let j = b; j < b + 32; j++) amax = Math.max(amax, Math.abs(w[j]));
            // Half a step of d = amax / 127, plus d's own f16 rounding times 127 steps.
            const tol = amax / 127 * 0.5 + amax * 2 ** -11;
            for (let j = b; j < b + 32; j++) {
              if (Math.abs(got[j] - w[j]) > tol) {
                assert.fail(`${name}[${j}]: ${got[j]} vs ${w[j]}`);
              }
            }
          }
        }
      }
    } finally {
      model.release();
    }
  });
}

Deno.test("permuteRope() interleaves the two halves of each head as llama.cpp's permute", () => {
  // 2 heads of headDim 4, one column: rows [h0: 0 1 2 3, h1: 4 5 6 7].
  const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...permuteRope(w, 8, 2)], [0, 2, 1, 3, 4, 6, 5, 7]);
});

Deno.test("permuteRope(): llama.cpp's interleaved RoPE on permuted q and k gives HF's attention scores", () => {
  const heads = 3, kvHeads = 1, hd = 8, cols = 5, theta = 10000;
  const rand = (n: number, seed: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.3 + i * 1.91) * 0.8);
  const x = rand(cols, 1), wq = rand(heads * hd * cols, 2), wk = rand(kvHeads * hd * cols, 3);
  const matvec = (w: Float32Array) =>
    Array.from(
      { length: w.length / cols },
      (_, r) => x.reduce((s, v, c) => s + v * w[r * cols + c], 0),
    );
  const angle = (i: number, pos: number) => pos * theta ** (-2 * i / hd);
  // HF rotate_half: pairs (i, i + hd/2). llama.cpp's LLAMA_ROPE_TYPE_NORM: pairs (2i, 2i + 1).
  const rope = (v: number[], pos: number, pair: (i: number) => [number, number]) => {
    const out = [...v];
    for (let h = 0; h < v.length / hd; h++) {
      for (let i = 0; i < hd / 2; i++) {
        const [a, b] = pair(i).map((k) => h * hd + k), t = angle(i, pos);
        out[a] = v[a] * Math.cos(t) - v[b] * Math.sin(t);
        out[b] = v[b] * Math.cos(t) + v[a] * Math.sin(t);
      }
    }
    return out;
  };
  const hf = (i: number): [number, number] => [i, i + hd / 2];
  const cpp = (i: number): [number, number] => [2 * i, 2 * i + 1];
  const score = (q: number[], k: number[], h: number) =>
    q.slice(h * hd, h * hd + hd).reduce((s, v, i) => s + v * k[i], 0);
  const [pq, pk] = [5, 2];
  const qHf = rope(matvec(wq), pq, hf), kHf = rope(matvec(wk), pk, hf);
  const qCpp = rope(matvec(permuteRope(wq, heads * hd, heads)), pq, cpp);
  const kCpp = rope(matvec(permuteRope(wk, kvHeads * hd, kvHeads)), pk, cpp);
  for (let h = 0; h < heads; h++) {
    const want = score(qHf, kHf, h), got = score(qCpp, kCpp, h);
    assert.ok(
      Math.abs(got - want) < 1e-9 * Math.max(1, Math.abs(want)),
      `head ${h}: ${got} vs ${want}`,
    );
  }
  // Without the permutation the scores differ, so the check above can fail.
  const qRaw = rope(matvec(wq), pq, cpp), kRaw = rope(matvec(wk), pk, cpp);
  assert.ok(Math.abs(score(qRaw, kRaw, 0) - score(qHf, kHf, 0)) > 1e-6);
});

Deno.test("quantizeQ8_0() rounds halves away from zero as ggml's roundf", () => {
  // amax 127 gives d = 1, so x * (1 / d) = x: -2.5 must become -3 and 2.5 become 3.
  const x = new Float32Array(32);
  x[0] = 127, x[1] = -2.5, x[2] = 2.5, x[3] = -0.5, x[4] = 0.4;
  const q = new Int8Array(quantizeQ8_0(x).buffer, 2, 32);
  assert.deepEqual([...q.slice(0, 5)], [127, -3, 3, -1, 0]);
});

Deno.test("exportGguf() refuses models that are not llama-architecture", async () => {
  const { model } = await loadModel(
    new URL("../../fixtures/models/gpt2", import.meta.url).pathname,
    reg.models,
  );
  await assert.rejects(exportGguf(model, "/tmp/x.gguf"), /only llama-architecture models/);
  model.release();
});

Deno.test("exportGguf() reports the elements converted, reaching the total once the file is written", async () => {
  const { model } = await loadModel(TINY, reg.models);
  const tmp = await Deno.makeTempDir();
  const calls: [number, number][] = [];
  let sizeAtEnd = -1;
  try {
    const path = `${tmp}/m.gguf`;
    await exportGguf(model, path, {
      type: "q8_0",
      onProgress: (done, total) => {
        calls.push([done, total]);
        if (done === total) sizeAtEnd = Deno.statSync(path).size;
      },
    });
    const total = [...model.namedParameters()].reduce((n, [, p]) => n + p.size, 0);
    assert.deepEqual(calls[0], [0, total]);
    for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0], "increasing");
    assert.deepEqual(calls.at(-1), [total, total]);
    assert.equal(calls.filter(([d]) => d === total).length, 1);
    assert.equal(sizeAtEnd, (await Deno.stat(path)).size, "the file is whole at the last report");
  } finally {
    model.release();
    await Deno.remove(tmp, { recursive: true });
  }
});
