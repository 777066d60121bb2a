// The kto stage: LlamaFactory's feedback encoding (each prompt with its own reply and, as the KL
// sample, the reply of the example before it), the collator, and the loss against a host-side
// restatement of TRL's kto_loss from full logits.

import assert from "node:assert/strict";
import type { Args } from "../../../core/config/schema.ts";
import type { Example } from "../../../core/data/dataset_info.ts";
import * as T from "../../../core/tensor/mod.ts";
import { kto } from "../../../plugins/stages/kto.ts";
import { hostLogps } from "./_host_logps.ts";
import { fixtureModel, stageArgs, template, tokenizer } from "./_fixtures.ts";

const said = (prompt: string, reply: string, label: boolean): Example => ({
  messages: [{ role: "user", content: prompt }, { role: "assistant", content: reply }],
  label,
});
const examples = [
  said("2+2?", "4", true),
  said("Capital of France?", "Rome", false),
  said("Say hi", "hi there", true),
  said("Sky colour?", "green", false),
];
const ids = (text: string) => tokenizer.encode(text);

Deno.test("kto.prepare() pairs each prompt with its reply and the previous example's reply", () => {
  const untagged: Example = { messages: examples[0].messages };
  const { features, warnings } = kto.prepare([...examples, untagged], {
    tokenizer,
    template,
    args: stageArgs,
  });
  assert.equal(features.length, 4);
  assert.match(warnings.join("\n"), /Dropped 1 of 5 examples without a kto_tag/);
  const batch = kto.collate(features, { padTokenId: tokenizer.padTokenId! });
  assert.deepEqual(batch.desirable, [true, false, true, false]);
  const row = (b: typeof batch.kl, r: number) => [
    ...b.inputIds.subarray(r * b.length, (r + 1) * b.length),
  ];
  // Example 1's KL sample: its own prompt, example 0's reply; example 0's: example 4's (untagged).
  const [prompt1] = template.encodeOneturn(tokenizer, { messages: examples[1].messages });
  const kl1 = [...prompt1, ...ids("4"), tokenizer.eosTokenId!];
  assert.deepEqual(row(batch.kl, 1).slice(0, kl1.length), kl1);
  const [prompt0, reply0] = template.encodeOneturn(tokenizer, { messages: examples[0].messages });
  assert.deepEqual(row(batch, 0).slice(0, prompt0.length + reply0.length), [...prompt0, ...reply0]);
  const one = kto.prepare([examples[0], examples[2]], { tokenizer, template, args: stageArgs });
  assert.match(one.warnings.join("\n"), /one kto_tag only/);
});

const load = fixtureModel;

Deno.test("kto.loss() equals TRL's kto_loss with LlamaFactory's ftx term", async () => {
  const policy = await load("llama"), reference = await load("llama_rope_llama3");
  const { features } = kto.prepare(examples, { tokenizer, template, args: stageArgs });
  const batch = kto.collate(features, { padTokenId: tokenizer.padTokenId! });
  const [p, r] = [await hostLogps(policy, batch), await hostLogps(reference, batch)];
  const [pk, rk] = [await hostLogps(policy, batch.kl), await hostLogps(reference, batch.kl)];
  const beta = 0.4, wd = 1.5, wu = 0.7, ftx = 0.3, n = batch.batch;
  let kl = 0;
  for (let i = 0; i < n; i++) kl += (pk.sums[i] - rk.sums[i]) / n;
  kl = Math.max(kl, 0);
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  let want = 0, nll = 0;
  const chosen = batch.desirable.filter(Boolean).length;
  for (let i = 0; i < n; i++) {
    const ratio = p.sums[i] - r.sums[i];
    want += batch.desirable[i]
      ? wd * (1 - sigmoid(beta * (ratio - kl))) / n
      : wu * (1 - sigmoid(beta * (kl - ratio))) / n;
    if (batch.desirable[i]) nll += -p.sums[i] / p.counts[i] / chosen;
  }
  want += ftx * nll / chosen * n;
  const a = {
    pref_beta: beta,
    kto_chosen_weight: wd,
    kto_rejected_weight: wu,
    pref_ftx: ftx,
  } as unknown as Args;
  const kept = new Map<string, T.Tensor>();
  const l = T.scope(() =>
    kto.loss(policy, batch, { args: a, reference, metric: (k, v) => kept.set(k, T.keep(v)) })
  );
  const got = await l.item();
  l.release();
  assert.ok(Math.abs(got - want) < 2e-5 * Math.max(1, want), `loss ${got} vs ${want}`);
  assert.ok(Math.abs(await kept.get("kl")!.item() - kl) < 1e-4, "kl");
  let reward = 0;
  for (let i = 0; i < n; i++) {
    if (batch.desirable[i]) reward += beta * (p.sums[i] - r.sums[i]) / chosen;
  }
  assert.ok(Math.abs(await kept.get("rewards/chosen")!.item() - reward) < 1e-4, "rewards/chosen");
  kept.forEach((t) => t.release());
  // Against itself every ratio and the KL estimate are 0: each row's loss is w (1 - sigmoid(0)).
  const self = T.scope(() =>
    kto.loss(policy, batch, { args: { ...a, pref_ftx: 0 }, reference: policy })
  );
  assert.ok(Math.abs(await self.item() - (wd + wu) / 4) < 1e-6);
  self.release();
  policy.release();
  reference.release();
});
