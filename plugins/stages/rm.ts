// Reward modelling (LlamaFactory's stage "rm"): the pairwise data of the dpo stage, a value head
// on the decoder's last hidden state (TRL's AutoModelForCausalLMWithValueHead), and
// PairwiseTrainer's loss: -log sigmoid(score(chosen) - score(rejected)), each reply scored at its
// last token, averaged over pairs. The head is saved as value_head.safetensors.

import type { HostBatch } from "../../core/data/collate.ts";
import { batchInputs } from "../../core/stage/causal_lm_loss.ts";
import type { CausalLM, LossOptions, Stage } from "../../core/stage/stage.ts";
import * as T from "../../core/tensor/mod.ts";
import { collatePairwise, preparePairwise } from "./_pairwise.ts";
import { logSigmoid } from "./_preference_loss.ts";
import { ValueHead, valueHeadModules } from "./_value_head.ts";

/** Each row's last real token (right padding): attention mask sum - 1, as PairwiseTrainer takes. */
export function lastTokenRows(batch: HostBatch): Int32Array {
  const out = new Int32Array(batch.batch);
  for (let r = 0; r < batch.batch; r++) {
    let n = 0;
    for (let i = 0; i < batch.length; i++) n += batch.keyMask[r * batch.length + i];
    out[r] = r * batch.length + Math.max(n - 1, 0);
  }
  return out;
}

/** Scores [rows, 1] of every row of the batch at its last token. */
export function rewardScores(model: CausalLM, batch: HostBatch, opts: LossOptions): T.Tensor {
  const head = opts.modules;
  if (!(head instanceof ValueHead)) {
    throw new TypeError("Cannot score replies: the rm stage needs its value head (opts.modules)");
  }
  const { ids, ...inputs } = batchInputs(batch);
  const hidden = model.hidden(ids, {
    ...inputs,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const h = hidden.shape[hidden.rank - 1];
  const last = T.indexSelect(
    T.reshape(hidden, [batch.batch * batch.length, h]),
    0,
    lastTokenRows(batch),
  );
  return head.score(last, opts.dropoutSeed ?? null);
}

function loss(model: CausalLM, batch: HostBatch, opts: LossOptions = {}): T.Tensor {
  const pairs = batch.batch / 2;
  const scores = rewardScores(model, batch, opts);
  const chosen = T.slice(scores, 0, 0, pairs), rejected = T.slice(scores, 0, pairs);
  if (opts.metric) {
    // LlamaFactory's ComputeAccuracy: the share of pairs scored the right way (eval_accuracy).
    opts.metric(
      "accuracy",
      T.noGrad(() => T.mean(T.binaryRaw("gt", chosen, rejected))),
    );
  }
  return T.mean(T.neg(logSigmoid(T.sub(chosen, rejected))));
}

export const rm: Stage = {
  kind: "stage",
  name: "rm",
  prepare: preparePairwise,
  collate: collatePairwise,
  createModules: (hiddenSize, args) => valueHeadModules(hiddenSize, args.seed),
  loss,
};
