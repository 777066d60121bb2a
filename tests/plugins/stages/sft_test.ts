// The sft stage: example filtering, packing through prepare(), neat packing against each
// sequence run alone on the tiny llama fixture, and the loss against a host-side cross-entropy.

import assert from "node:assert/strict";
import { IGNORE_INDEX } from "../../../core/data/collate.ts";
import type { Example } from "../../../core/data/dataset_info.ts";
import { BOS, defineTemplate } from "../../../core/data/template.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import { batchInputs } from "../../../core/stage/mod.ts";
import * as T from "../../../core/tensor/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";
import { sft } from "../../../plugins/stages/sft.ts";
import { assertClose } from "../../_helpers/check_op.ts";
import { CharTokenizer } from "../../core/data/_char_tokenizer.ts";
import { stageArgs } from "./_fixtures.ts";

const template = defineTemplate({
  name: "char_test",
  formatUser: ["U:{{content}}\nA:"],
  formatPrefix: [BOS],
});
const tokenizer = new CharTokenizer();
const args = stageArgs;
const chat = (...turns: string[]): Example => ({
  messages: turns.map((content, i) => ({ role: i % 2 ? "assistant" : "user", content })),
});
const examples = [
  chat("hi", "hello there"),
  chat("2+2?", "4", "and 3+3?", "6"),
  chat("name a colour", "teal"),
  chat("a prompt without reply"),
];

Deno.test("sft registers as a stage plugin", () => {
  assert.equal(builtinRegistries().stages.get("sft"), sft);
  assert.equal(sft.kind, "stage");
});

Deno.test("sft.prepare() encodes each conversation and drops those without a response", () => {
  const { features, warnings } = sft.prepare(examples, { tokenizer, template, args });
  assert.equal(features.length, 3);
  assert.match(warnings.join("\n"), /Dropped 1 of 4 examples without a final response/);
  const [bos, eos] = [tokenizer.bosTokenId!, tokenizer.eosTokenId!];
  const prompt = [bos, ...tokenizer.encode("U:hi\nA:")];
  const reply = [...tokenizer.encode("hello there"), eos];
  assert.deepEqual([...features[0].inputIds], [...prompt, ...reply]);
  assert.deepEqual([...features[0].labels!], [...prompt.map(() => IGNORE_INDEX), ...reply]);
  assert.equal(features[0].attentionMask, undefined);
});

Deno.test("sft.prepare() packs rows of exactly cutoff_len tokens (LlamaFactory's cutoff_len - 1 + 1)", () => {
  for (const neat of [false, true]) {
    const { features } = sft.prepare(examples, {
      tokenizer,
      template,
      args: { ...args, cutoff_len: 40, packing: true, neat_packing: neat },
    });
    assert.ok(features.length >= 2);
    for (const f of features) {
      assert.equal(f.inputIds.length, 40);
      assert.ok(f.attentionMask!.at(-1) === (neat ? 0 : 1), "at least one pad");
    }
    const tokens = features.reduce(
      (n, f) => n + f.labels!.filter((l) => l !== IGNORE_INDEX).length,
      0,
    );
    const alone = sft.prepare(examples, { tokenizer, template, args: { ...args, cutoff_len: 39 } });
    const want = alone.features.reduce(
      (n, f) => n + f.labels!.filter((l) => l !== IGNORE_INDEX).length,
      0,
    );
    assert.equal(tokens, want, "packing keeps every trained label");
  }
});

const model = await (async () => {
  await T.initGpu();
  const dir = new URL("../../fixtures/models/llama/", import.meta.url).pathname;
  return (await loadModel(dir, new Registry("model", modelFamilies))).model;
})();

Deno.test("neat packing gives every packed sequence the logits it has alone", async () => {
  const { features } = sft.prepare(examples, {
    tokenizer,
    template,
    args: { ...args, cutoff_len: 128, packing: true, neat_packing: true },
  });
  assert.equal(features.length, 1, "the three examples share one row");
  const batch = sft.collate(features, { padTokenId: tokenizer.padTokenId! });
  assert.ok(batch.segmentIds);
  const v = model.cfg.vocabSize, t = batch.length;
  const run = (inputs: ReturnType<typeof batchInputs>) =>
    T.noGrad(() => model.forward(inputs.ids, inputs));
  const [packed, plain] = T.scope(() => {
    const inputs = batchInputs(batch);
    return [run(inputs), run({ ...inputs, segmentIds: undefined })];
  });
  const got = await packed.data(), leaky = await plain.data();
  packed.release();
  plain.release();
  const seg = batch.segmentIds!;
  let worstLeak = 0;
  for (let s = 1; s <= 3; s++) {
    const at = seg.indexOf(s), n = seg.lastIndexOf(s) + 1 - at;
    assert.ok(at >= 0 && n > 0);
    const ids = batch.inputIds.slice(at, at + n);
    const alone = T.scope(() =>
      T.noGrad(() => model.forward(T.tensor(ids, [1, n], { dtype: "i32" })))
    );
    const want = await alone.data();
    alone.release();
    assertClose(got.subarray(at * v, (at + n) * v), want, 2e-5, 1e-4, `segment ${s}`);
    for (let i = 0; i < n * v; i++) {
      worstLeak = Math.max(worstLeak, Math.abs(leaky[at * v + i] - want[i]));
    }
  }
  assert.ok(worstLeak > 1e-3, "without segment ids later sequences see earlier ones");
  assert.equal(t % 8, 0);
});

/** Mean next-token cross-entropy in f64 from logits [B, T, V] (transformers' ForCausalLMLoss). */
function hostLoss(logits: ArrayLike<number>, labels: Int32Array, t: number, v: number): number {
  let sum = 0, n = 0;
  for (let r = 0; r < labels.length / t; r++) {
    for (let i = 0; i + 1 < t; i++) {
      const label = labels[r * t + i + 1];
      if (label === IGNORE_INDEX) continue;
      const row = (r * t + i) * v;
      let max = -Infinity;
      for (let k = 0; k < v; k++) max = Math.max(max, logits[row + k]);
      let z = 0;
      for (let k = 0; k < v; k++) z += Math.exp(logits[row + k] - max);
      sum += max + Math.log(z) - logits[row + label];
      n++;
    }
  }
  return sum / n;
}

Deno.test("sft.loss() equals a host-side cross-entropy of the shifted logits, gradients included", async () => {
  const { features } = sft.prepare(examples, { tokenizer, template, args });
  const batch = sft.collate(features, { padTokenId: tokenizer.padTokenId! });
  assert.ok(batch.padded && batch.length % 8 === 0);
  const v = model.cfg.vocabSize, t = batch.length;
  const named = new Map(model.namedParameters());
  const params = [
    "lm_head.weight",
    "model.embed_tokens.weight",
    "model.layers.0.self_attn.q_proj.weight",
  ]
    .map((n) => named.get(n)!);
  const grads = async () => {
    const out = [];
    for (const p of params) {
      out.push(await p.grad!.data());
      p.grad!.release();
      p.grad = null;
    }
    return out;
  };
  const loss = T.scope(() => {
    const l = sft.loss(model, batch);
    T.backward(l);
    return l;
  });
  const got = await loss.item();
  loss.release();
  const fast = await grads();
  // The same loss the plain way: every position through the head, then crossEntropy.
  const logits = T.scope(() => {
    const inputs = batchInputs(batch);
    const logits = model.forward(inputs.ids, inputs);
    const shifted = new Int32Array(batch.batch * t).fill(IGNORE_INDEX);
    for (let i = 0; i + 1 < batch.labels.length; i++) {
      if ((i + 1) % t !== 0) shifted[i] = batch.labels[i + 1];
    }
    const l = T.crossEntropy(T.reshape(logits, [batch.batch * t, v]), T.tensor(shifted));
    T.backward(l);
    return T.detach(logits);
  });
  const host = hostLoss(await logits.data(), batch.labels, t, v);
  logits.release();
  const slow = await grads();
  // Logits in chunks of 3 rows (as a 152k vocabulary needs) give the same loss and gradients.
  const chunkedLoss = T.scope(() => {
    const l = sft.loss(model, batch, { logitRows: 3 });
    T.backward(l);
    return l;
  });
  const chunked = await chunkedLoss.item();
  chunkedLoss.release();
  const chunkedGrads = await grads();
  assert.ok(Math.abs(chunked - got) < 1e-5 * Math.max(1, got), `chunked loss ${chunked} vs ${got}`);
  chunkedGrads.forEach((g, i) => assertClose(g, fast[i], 1e-6, 1e-4, `chunked gradient ${i}`));
  assert.ok(Math.abs(got - host) < 1e-5 * Math.max(1, host), `loss ${got} vs host ${host}`);
  fast.forEach((g, i) => {
    assertClose(g, slow[i], 1e-6, 1e-4, `gradient of parameter ${i}`);
    assert.ok(g.some((x) => x !== 0), `parameter ${i} gets a gradient`);
  });
});

Deno.test("sft.loss() averages over numItems when given and is zero with nothing to learn", async () => {
  const { features } = sft.prepare(examples, { tokenizer, template, args });
  const batch = sft.collate(features, { padTokenId: tokenizer.padTokenId! });
  const [mean, scaled] = T.scope(() =>
    T.noGrad(() => [sft.loss(model, batch), sft.loss(model, batch, { numItems: 1000 })])
  );
  const [m, s] = [await mean.item(), await scaled.item()];
  mean.release();
  scaled.release();
  assert.ok(Math.abs(s - (m * batch.labelTokens) / 1000) < 1e-5, `${s} vs ${m}`);
  const blank = { ...batch, labels: new Int32Array(batch.labels.length).fill(IGNORE_INDEX) };
  const zero = T.scope(() => T.noGrad(() => sft.loss(model, blank)));
  assert.equal(await zero.item(), 0);
  zero.release();
});
