// Kahneman-Tversky optimisation (LlamaFactory's stage "kto", CustomKTOTrainer over TRL's kto_loss):
// unpaired replies tagged desirable or not. The reference point is the batch's KL estimate
// max(0, mean(policy - reference log-prob of the mismatched KL samples)), computed without
// gradients; a desirable reply's loss is w_d (1 - sigmoid(beta (ratio - KL))), an undesirable
// one's w_u (1 - sigmoid(beta (KL - ratio))), averaged over the batch; pref_ftx adds the
// desirable replies' mean token NLL, rescaled as LlamaFactory does.

import type { Args } from "../../core/config/schema.ts";
import type { Feature } from "../../core/data/collate.ts";
import type { CausalLM, LossOptions, Stage } from "../../core/stage/stage.ts";
import * as T from "../../core/tensor/mod.ts";
import { collateFeedback, type FeedbackBatch, prepareFeedback } from "./_feedback.ts";
import { labelCounts, sequenceLogps } from "./_preference_loss.ts";

function ktoLoss(model: CausalLM, batch: FeedbackBatch, opts: LossOptions = {}): T.Tensor {
  const a = opts.args as Readonly<Args> | undefined;
  if (!a) throw new TypeError("Cannot compute the kto loss without the run's arguments");
  const reference = opts.reference;
  if (!reference) throw new TypeError("Cannot compute the kto loss without a reference model");
  const beta = a.pref_beta, rows = batch.batch;
  const gc = { average: false, gradientCheckpointing: opts.gradientCheckpointing };
  const policy = sequenceLogps(model, batch, gc);
  const [ref, kl] = T.noGrad(() => {
    const ref = sequenceLogps(reference, batch, gc);
    const shift = T.sub(sequenceLogps(model, batch.kl, gc), sequenceLogps(reference, batch.kl, gc));
    return [ref, T.maximum(T.mean(shift), T.zeros([]))];
  });
  const ratio = T.sub(policy, ref);
  // sign +1 (desirable: ratio - KL) or -1 (undesirable: KL - ratio), and each row's weight.
  const sign = T.tensor(batch.desirable.map((d) => d ? 1 : -1), [rows, 1]);
  const weight = batch.desirable.map((d) => d ? a.kto_chosen_weight : a.kto_rejected_weight);
  const z = T.scale(T.mul(T.sub(ratio, kl), sign), beta);
  const losses = T.mul(T.affine(T.sigmoid(z), -1, 1), T.tensor(weight, [rows, 1]));
  let loss = T.mean(losses);
  const chosen = batch.desirable.filter(Boolean).length;
  if (a.pref_ftx > 1e-6 && chosen > 0) {
    // LlamaFactory: ftx × mean(-chosen avg log-prob) / chosen × rows = ftx × sum / chosen² × rows.
    const counts = labelCounts(batch);
    const pick = batch.desirable.map((d, i) => d ? -1 / counts[i] : 0);
    const nll = T.sum(T.mul(policy, T.tensor(pick, [rows, 1])));
    loss = T.add(loss, T.scale(nll, a.pref_ftx * rows / (chosen * chosen)));
  }
  if (opts.metric) {
    const metric = opts.metric;
    T.noGrad(() => {
      const mean = (want: boolean) => {
        const n = batch.desirable.filter((d) => d === want).length;
        const w = batch.desirable.map((d) => d === want ? 1 / n : 0);
        return T.sum(T.mul(T.scale(ratio, beta), T.tensor(w, [rows, 1])));
      };
      if (chosen > 0) metric("rewards/chosen", mean(true));
      if (chosen < rows) metric("rewards/rejected", mean(false));
      metric("kl", kl);
    });
  }
  return loss;
}

export const kto: Stage<Feature, FeedbackBatch> = {
  kind: "stage",
  name: "kto",
  prepare: prepareFeedback,
  collate: collateFeedback,
  usesReference: () => true,
  loss: ktoLoss,
};
