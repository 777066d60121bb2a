// Direct preference optimisation (LlamaFactory's stage "dpo", with pref_loss sigmoid, hinge, ipo,
// orpo or simpo): PairwiseDatasetProcessor, PairwiseDataCollatorWithPadding (chosen rows, then
// rejected rows, padded to multiples of 8) and CustomDPOTrainer's loss.

import { collate, type Feature, IGNORE_INDEX } from "../../core/data/collate.ts";
import type { Example } from "../../core/data/dataset_info.ts";
import { encodePairwise, isValidPair, pairFeature, splitPair } from "./_pairwise.ts";
import { preferenceLoss, type PreferenceLossType, usesReference } from "./_preference_loss.ts";
import type { Stage, StageContext } from "../../core/stage/stage.ts";

function prepare(examples: readonly Example[], ctx: StageContext) {
  const features: Feature[] = [];
  let invalid = 0, empty = 0;
  for (const e of examples) {
    if (!isValidPair(e)) {
      invalid++;
      continue;
    }
    const pair = encodePairwise(e, {
      template: ctx.template,
      tokenizer: ctx.tokenizer,
      cutoffLen: ctx.args.cutoff_len,
      enableThinking: ctx.args.enable_thinking,
    });
    // A reply truncated to nothing has no log-probability to compare (labels shift by one).
    const hasLabel = (l: number[]) => l.some((x) => x !== IGNORE_INDEX);
    if (!hasLabel(pair.chosen.labels.slice(1)) || !hasLabel(pair.rejected.labels.slice(1))) {
      empty++;
      continue;
    }
    features.push(pairFeature(pair));
  }
  const warnings: string[] = [];
  if (invalid) {
    warnings.push(
      `Dropped ${invalid} of ${examples.length} examples that are not a prompt with chosen and rejected replies`,
    );
  }
  if (empty) warnings.push(`Dropped ${empty} pairs whose replies cutoff_len truncated away`);
  return { features, warnings };
}

export const dpo: Stage = {
  kind: "stage",
  name: "dpo",
  prepare,
  collate: (features, opts) => {
    const pairs = features.map(splitPair);
    return collate([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], {
      padTokenId: opts.padTokenId,
      padToMultipleOf: opts.padToMultipleOf ?? 8,
      labels: "features",
    });
  },
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
