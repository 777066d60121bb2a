// The dpo stage: LlamaFactory's pairwise encoding, the collator's chosen-then-rejected batch, and
// each preference loss against a host-side restatement of TRL's formulas from the full logits.

import assert from "node:assert/strict";
import { IGNORE_INDEX } from "../../../core/data/collate.ts";
import type { PreferenceExample } from "../../../core/data/conversation.ts";
import type { Example } from "../../../core/data/dataset_info.ts";
import { inferSeqlen } from "../../../core/data/encode.ts";
import { encodePairwise, pairFeature, splitPair } from "../../../plugins/stages/_pairwise.ts";
import type { Args } from "../../../core/config/schema.ts";
import * as T from "../../../core/tensor/mod.ts";
import { dpo } from "../../../plugins/stages/dpo.ts";
import { hostLogps } from "./_host_logps.ts";
import { fixtureModel, pair, stageArgs, template, tokenizer } from "./_fixtures.ts";

const examples: Example[] = [
  pair("2+2?", "4", "five, I think"),
  pair("Capital of France?", "Paris.", "Rome"),
  pair("Say hi", "hi there", "no"),
];

Deno.test("encodePairwise() is the one-turn prompt plus each reply, both cut to one budget", () => {
  const e = pair("a long question here", "yes", "a much longer rejected reply");
  for (const cutoff of [64, 20, 9]) {
    const got = encodePairwise(e, { template, tokenizer, cutoffLen: cutoff });
    const [prompt, chosen] = template.encodeOneturn(tokenizer, {
      messages: [...e.messages, e.chosen],
    });
    const [, rejected] = template.encodeOneturn(tokenizer, {
      messages: [...e.messages, e.rejected],
    });
    const [s, t] = inferSeqlen(prompt.length, Math.max(chosen.length, rejected.length), cutoff);
    assert.deepEqual(got.chosen.inputIds, [...prompt.slice(0, s), ...chosen.slice(0, t)]);
    assert.deepEqual(got.rejected.inputIds, [...prompt.slice(0, s), ...rejected.slice(0, t)]);
    assert.deepEqual(got.rejected.labels, [
      ...new Array(s).fill(IGNORE_INDEX),
      ...rejected.slice(0, t),
    ]);
    assert.ok(got.rejected.inputIds.length <= cutoff, `cutoff ${cutoff}`);
  }
  // The reply ends with the template's EOS, which is learned.
  const full = encodePairwise(e, { template, tokenizer, cutoffLen: 64 });
  assert.equal(full.chosen.labels.at(-1), tokenizer.eosTokenId);
});

Deno.test("a pair feature splits back into its two sequences", () => {
  const p = encodePairwise(examples[1] as PreferenceExample, {
    template,
    tokenizer,
    cutoffLen: 64,
  });
  const f = pairFeature(p);
  const { chosen, rejected } = splitPair(f);
  assert.deepEqual([...chosen.inputIds], p.chosen.inputIds);
  assert.deepEqual([...rejected.labels!], p.rejected.labels);
  assert.throws(() => splitPair({ inputIds: f.inputIds, labels: f.labels }), /attention mask 1/);
});

Deno.test("dpo.prepare() keeps prompt/chosen/rejected examples and names what it drops", () => {
  const plain: Example = {
    messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "yo" }],
  };
  const { features, warnings } = dpo.prepare([...examples, plain], {
    tokenizer,
    template,
    args: stageArgs,
  });
  assert.equal(features.length, 3);
  assert.match(warnings.join("\n"), /Dropped 1 of 4 examples that are not a prompt with chosen/);
  const batch = dpo.collate(features, { padTokenId: tokenizer.padTokenId! });
  assert.equal(batch.batch, 6);
  assert.equal(batch.length % 8, 0);
  // Row 1 is the second pair's chosen reply, row 4 its rejected one.
  const row = (r: number) => [...batch.inputIds.subarray(r * batch.length, (r + 1) * batch.length)];
  const second = splitPair(features[1]);
  assert.deepEqual(row(1).slice(0, second.chosen.inputIds.length), [...second.chosen.inputIds]);
  assert.deepEqual(row(4).slice(0, second.rejected.inputIds.length), [...second.rejected.inputIds]);
});

const load = fixtureModel;
const policy = await load("llama");
const reference = await load("llama_rope_llama3"); // other weights, same vocabulary

const logSig = (x: number) => Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));

Deno.test("every pref_loss equals TRL's formula on host-side log-probs", async () => {
  const { features } = dpo.prepare(examples, { tokenizer, template, args: stageArgs });
  const batch = dpo.collate(features, { padTokenId: tokenizer.padTokenId! });
  const pol = await hostLogps(policy, batch), ref = await hostLogps(reference, batch);
  const n = batch.batch / 2, beta = 0.3, gamma = 0.7, ls = 0.2, ftx = 0.5;
  const avg = (s: number[], c: number[]) => s.map((x, i) => x / c[i]);
  const mean = (f: (i: number) => number) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(i);
    return s / n;
  };
  const polAvg = avg(pol.sums, pol.counts), refAvg = avg(ref.sums, ref.counts);
  const margin = (p: number[], q: number[], i: number) => (p[i] - p[i + n]) - (q[i] - q[i + n]);
  const expected: Record<string, number> = {
    sigmoid: mean((i) => {
      const z = beta * margin(pol.sums, ref.sums, i);
      return -(1 - ls) * logSig(z) - ls * logSig(-z) - ftx * polAvg[i];
    }),
    hinge: mean((i) => Math.max(0, 1 - beta * margin(pol.sums, ref.sums, i))),
    ipo: mean((i) => (margin(polAvg, refAvg, i) - 1 / (2 * beta)) ** 2),
    orpo: mean((i) => {
      const c = polAvg[i], r = polAvg[i + n];
      const logOdds = (c - r) - (Math.log1p(-Math.exp(c)) - Math.log1p(-Math.exp(r)));
      return -c - beta * logSig(logOdds);
    }),
    simpo: mean((i) => -logSig(beta * ((polAvg[i] - polAvg[i + n]) - gamma / beta))),
  };
  for (const [loss, want] of Object.entries(expected)) {
    const args = {
      pref_loss: loss,
      pref_beta: beta,
      pref_ftx: loss === "sigmoid" ? ftx : 0,
      dpo_label_smoothing: loss === "sigmoid" ? ls : 0,
      simpo_gamma: gamma,
    } as unknown as Args;
    const metrics = new Map<string, T.Tensor>();
    const metric = (name: string, v: T.Tensor) => metrics.set(name, T.keep(v));
    const l = T.scope(() => dpo.loss(policy, batch, { args, reference, metric }));
    const got = await l.item();
    l.release();
    assert.ok(
      Math.abs(got - want) < 2e-5 * Math.max(1, Math.abs(want)),
      `${loss}: ${got} vs ${want}`,
    );
    // TRL's rewards: beta x log-ratio to the reference, or beta x the (mean) log-prob without one.
    const [p, q] = loss === "sigmoid" || loss === "hinge"
      ? [pol.sums, ref.sums]
      : loss === "ipo"
      ? [polAvg, refAvg]
      : [polAvg, polAvg.map(() => 0)];
    const reward = (i: number) => beta * (p[i] - q[i]);
    const host = {
      "rewards/chosen": mean(reward),
      "rewards/rejected": mean((i) => reward(i + n)),
      "rewards/accuracies": mean((i) => reward(i) > reward(i + n) ? 1 : 0),
      "rewards/margins": mean((i) => reward(i) - reward(i + n)),
    };
    for (const [name, v] of Object.entries(host)) {
      const m = await metrics.get(name)!.item();
      assert.ok(Math.abs(m - v) < 1e-4 * Math.max(1, Math.abs(v)), `${loss} ${name}: ${m} vs ${v}`);
    }
    metrics.forEach((t) => t.release());
  }
  assert.throws(
    () => dpo.loss(policy, batch, { args: { pref_loss: "sigmoid", pref_beta: 0.1 } as Args }),
    /without a reference model/,
  );
});

Deno.test("gradient steps on the dpo loss raise the chosen replies over the rejected ones", async () => {
  const { features } = dpo.prepare(examples, { tokenizer, template, args: stageArgs });
  const batch = dpo.collate(features, { padTokenId: tokenizer.padTokenId! });
  const model = await load("llama");
  const args = { pref_loss: "sigmoid", pref_beta: 0.5, pref_ftx: 0 } as unknown as Args;
  const head = new Map(model.namedParameters()).get("lm_head.weight")!;
  const losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    const l = T.scope(() => {
      const loss = dpo.loss(model, batch, { args, reference: policy });
      T.backward(loss);
      return loss;
    });
    losses.push(await l.item());
    l.release();
    T.scope(() => T.addInPlace(head, T.scale(head.grad!, -2)));
    head.grad!.release();
    head.grad = null;
  }
  // Policy = reference at the start: every margin is 0 and the loss is ln 2.
  assert.ok(Math.abs(losses[0] - Math.LN2) < 1e-5, `first loss ${losses[0]}`);
  assert.ok(losses[3] < losses[0] - 0.01, `losses ${losses}`);
  model.release();
});
