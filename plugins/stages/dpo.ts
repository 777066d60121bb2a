// Direct preference optimisation (LlamaFactory's stage "dpo", with pref_loss sigmoid, hinge, ipo,
// orpo or simpo): PairwiseDatasetProcessor, PairwiseDataCollatorWithPadding (chosen rows, then
// rejected rows, padded to multiples of 8) and CustomDPOTrainer's loss.

import { collatePairwise, preparePairwise } from "./_pairwise.ts";
import { preferenceLoss, type PreferenceLossType, usesReference } from "./_preference_loss.ts";
import type { Stage } from "../../core/stage/stage.ts";

export const dpo: Stage = {
  kind: "stage",
  name: "dpo",
  prepare: preparePairwise,
  collate: collatePairwise,
  usesReference: (args) => usesReference(args.pref_loss),
  loss: (model, batch, opts = {}) => {
    const a = opts.args;
    if (!a) throw new TypeError("Cannot compute the dpo loss without the run's arguments");
    return preferenceLoss(model, batch, {
      loss: a.pref_loss as PreferenceLossType,
      beta: a.pref_beta,
      ftx: a.pref_ftx,
      labelSmoothing: a.dpo_label_smoothing,
      simpoGamma: a.simpo_gamma,
      gradientCheckpointing: opts.gradientCheckpointing,
      reference: opts.reference,
      metric: opts.metric,
    });
  },
};
