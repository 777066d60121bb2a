// The rm stage: each reply scored at its last real token by the value head, the pairwise loss
// against a host-side restatement from the hidden states, and the head's file round trip.

import assert from "node:assert/strict";
import { batchInputs } from "../../../core/stage/mod.ts";
import * as T from "../../../core/tensor/mod.ts";
import { VALUE_HEAD_FILE } from "../../../plugins/stages/_value_head.ts";
import { lastTokenRows, rewardScores, rm } from "../../../plugins/stages/rm.ts";
import { openSafetensors } from "../../../core/io/safetensors.ts";
import { fixtureModel, pair, stageArgs, template, tokenizer } from "./_fixtures.ts";

const { features } = rm.prepare([
  pair("2+2?", "4", "five, I think"),
  pair("Capital of France?", "Paris.", "Rome"),
], { tokenizer, template, args: stageArgs });
const batch = rm.collate(features, { padTokenId: tokenizer.padTokenId! });

const model = await fixtureModel("llama");
const hiddenSize = model.cfg.hiddenSize;

Deno.test("lastTokenRows() finds each right-padded row's last real token", () => {
  const rows = lastTokenRows(batch);
  for (let r = 0; r < batch.batch; r++) {
    const at = rows[r] - r * batch.length;
    assert.equal(batch.keyMask[r * batch.length + at], 1);
    assert.ok(at + 1 === batch.length || batch.keyMask[r * batch.length + at + 1] === 0);
    // The last token of every reply is the template's EOS.
    assert.equal(batch.inputIds[rows[r]], tokenizer.eosTokenId);
  }
});

Deno.test("rm.loss() is -log sigmoid(chosen - rejected score) over pairs, from the hidden states", async () => {
  const extra = rm.createModules!(hiddenSize, { seed: 3 } as never);
  const metrics = new Map<string, T.Tensor>();
  const l = T.scope(() =>
    rm.loss(model, batch, {
      modules: extra.module,
      metric: (n, v) => metrics.set(n, T.keep(v)),
    })
  );
  const got = await l.item();
  l.release();
  // Host: hidden state at each row's last token, times the head's weight, plus its bias.
  const hidden = T.noGrad(() =>
    T.scope(() => {
      const { ids, ...inputs } = batchInputs(batch);
      return model.hidden(ids, inputs);
    })
  );
  const h = await hidden.data();
  hidden.release();
  const [w, b] = await Promise.all([...extra.module.namedParameters()].map(([, t]) => t.data()));
  const score = (row: number) => {
    let s = b[0];
    for (let i = 0; i < hiddenSize; i++) s += w[i] * h[row * hiddenSize + i];
    return s;
  };
  const rows = lastTokenRows(batch), n = batch.batch / 2;
  let want = 0, ahead = 0;
  for (let i = 0; i < n; i++) {
    const d = score(rows[i]) - score(rows[i + n]);
    want += -(Math.min(d, 0) - Math.log1p(Math.exp(-Math.abs(d)))) / n;
    ahead += d > 0 ? 1 / n : 0;
  }
  assert.ok(Math.abs(got - want) < 1e-5, `loss ${got} vs ${want}`);
  const accuracy = metrics.get("accuracy")!;
  assert.equal(await accuracy.item(), ahead);
  accuracy.release();
  extra.module.release();
});

Deno.test("the value head drops out only with a seed, and round-trips through its file", async () => {
  const extra = rm.createModules!(hiddenSize, { seed: 5 } as never);
  const scores = async (seed: number | null, modules = extra.module) => {
    const s = T.noGrad(() =>
      T.scope(() => rewardScores(model, batch, { modules, dropoutSeed: seed }))
    );
    const d = await s.data();
    s.release();
    return [...d];
  };
  const plain = await scores(null);
  assert.deepEqual(await scores(null), plain);
  assert.notDeepEqual(await scores(7), plain, "dropout 0.1 changes the scores");
  const out = await Deno.makeTempDir();
  try {
    await extra.save(out);
    const file = await openSafetensors(`${out}/${VALUE_HEAD_FILE}`);
    assert.deepEqual(file.info("v_head.summary.weight").shape, [1, hiddenSize]);
    assert.deepEqual(file.info("v_head.summary.bias").shape, [1]);
    file.close();
    const other = rm.createModules!(hiddenSize, { seed: 6 } as never);
    assert.notDeepEqual(await scores(null, other.module), plain);
    await other.load(out);
    assert.deepEqual(await scores(null, other.module), plain);
    other.module.release();
    await assert.rejects(other.load(`${out}/nowhere`), /nowhere/);
  } finally {
    await Deno.remove(out, { recursive: true });
    extra.module.release();
  }
});
