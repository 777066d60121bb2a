// Preference losses of LlamaFactory's dpo stage (CustomDPOTrainer over TRL's DPOTrainer): a batch
// holds B chosen rows then B rejected rows; each row's log-probability of its labels is summed
// (sigmoid, hinge) or averaged over its labels (ipo, orpo, simpo), and the pair losses are
// averaged. sigmoid, hinge and ipo compare with a reference model's log-probs; orpo and simpo
// need none.

import { type HostBatch, IGNORE_INDEX, shiftLabels } from "../../core/data/collate.ts";
import * as T from "../../core/tensor/mod.ts";
import { chunkedCrossEntropy, labelledHidden } from "../../core/stage/causal_lm_loss.ts";
import type { CausalLM } from "../../core/stage/stage.ts";

export type PreferenceLossType = "sigmoid" | "hinge" | "ipo" | "orpo" | "simpo";

export interface PreferenceOptions {
  readonly loss: PreferenceLossType;
  /** LlamaFactory's pref_beta. */
  readonly beta: number;
  /** pref_ftx: weight of the chosen replies' mean token NLL added to each pair's loss. */
  readonly ftx?: number;
  /** dpo_label_smoothing (sigmoid only). */
  readonly labelSmoothing?: number;
  /** simpo_gamma. */
  readonly simpoGamma?: number;
  readonly gradientCheckpointing?: boolean;
  /** Takes TRL's metrics of the batch: rewards/chosen, rewards/rejected, rewards/accuracies, ... */
  readonly metric?: (name: string, value: T.Tensor) => void;
}

/** Whether the loss compares with a reference model (LlamaFactory's use_ref_model). */
export function usesReference(loss: string): boolean {
  return loss !== "orpo" && loss !== "simpo";
}

/** Each row's label count after the next-token shift. */
export function labelCounts(batch: HostBatch): number[] {
  const shifted = shiftLabels(batch.labels, batch.batch, batch.length);
  const counts = new Array(batch.batch).fill(0);
  shifted.forEach((l, i) => {
    if (l !== IGNORE_INDEX) counts[Math.floor(i / batch.length)]++;
  });
  return counts;
}

/**
 * Per-row log-probabilities [rows, 1]: the sum over each row's labels, or the mean when `average`
 * (TRL's get_batch_logps, then / valid_length for ipo, orpo and simpo).
 */
export function sequenceLogps(
  model: CausalLM,
  batch: HostBatch,
  opts: { average: boolean; gradientCheckpointing?: boolean },
): T.Tensor {
  const { batch: b, length: t } = batch;
  const { flat, rows: picked, targets } = labelledHidden(model, batch, opts);
  const counts = labelCounts(batch);
  const empty = counts.indexOf(0);
  if (empty >= 0) {
    throw new RangeError(
      `Cannot score row ${empty} of a preference batch: it has no label (a reply truncated away)`,
    );
  }
  const nll = chunkedCrossEntropy(model, flat, picked, targets, { reduction: "none" });
  // One matmul sums (or averages) each row's token terms: a [rows, labels] selector.
  const selector = new Float32Array(b * picked.length);
  picked.forEach((flatIndex, k) => {
    const row = Math.floor(flatIndex / t);
    selector[row * picked.length + k] = opts.average ? -1 / counts[row] : -1;
  });
  return T.matmul(T.tensor(selector, [b, picked.length]), T.reshape(nll, [picked.length, 1]));
}

/** log(sigmoid(x)) without overflow: min(x, 0) - log(1 + exp(-|x|)). */
export function logSigmoid(x: T.Tensor): T.Tensor {
  return T.sub(T.minimum(x, T.zerosLike(x)), T.log(T.addScalar(T.exp(T.neg(T.abs(x))), 1)));
}

/**
 * The batch's preference loss (scalar f32): the mean over pairs of the chosen loss, plus
 * ftx × the chosen replies' mean token NLL. `reference` is required when usesReference(loss).
 */
export function preferenceLoss(
  model: CausalLM,
  batch: HostBatch,
  opts: PreferenceOptions & { reference?: CausalLM },
): T.Tensor {
  if (batch.batch % 2 !== 0) {
    throw new RangeError(
      `Cannot compute a preference loss on ${batch.batch} rows: expected chosen rows then as many rejected`,
    );
  }
  const pairs = batch.batch / 2, beta = opts.beta;
  const average = opts.loss === "ipo" || opts.loss === "orpo" || opts.loss === "simpo";
  const logps = sequenceLogps(model, batch, {
    average,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const chosen = T.slice(logps, 0, 0, pairs), rejected = T.slice(logps, 0, pairs);
  let losses: T.Tensor;
  // The rewards TRL reports: beta x the log-ratio to the reference (x the log-prob without one).
  let rewards = () => [T.scale(chosen, beta), T.scale(rejected, beta)];
  if (usesReference(opts.loss)) {
    if (!opts.reference) {
      throw new TypeError(
        `Cannot compute the ${opts.loss} preference loss without a reference model`,
      );
    }
    const ref = T.noGrad(() => sequenceLogps(opts.reference!, batch, { average }));
    const refChosen = T.slice(ref, 0, 0, pairs), refRejected = T.slice(ref, 0, pairs);
    const refMargin = T.sub(refChosen, refRejected);
    rewards = () => [
      T.scale(T.sub(chosen, refChosen), beta),
      T.scale(T.sub(rejected, refRejected), beta),
    ];
    const logits = T.sub(T.sub(chosen, rejected), refMargin);
    if (opts.loss === "sigmoid") {
      const ls = opts.labelSmoothing ?? 0;
      const z = T.scale(logits, beta);
      losses = T.affine(logSigmoid(z), -(1 - ls), 0);
      if (ls > 0) losses = T.sub(losses, T.scale(logSigmoid(T.neg(z)), ls));
    } else if (opts.loss === "hinge") {
      losses = T.relu(T.affine(logits, -beta, 1));
    } else {
      losses = T.square(T.addScalar(logits, -1 / (2 * beta)));
    }
  } else if (opts.loss === "orpo") {
    // log odds(p) = log p - log(1 - p), with the mean token log-prob as log p.
    const log1mExp = (lp: T.Tensor) => T.log(T.affine(T.exp(lp), -1, 1));
    const logOdds = T.sub(T.sub(chosen, rejected), T.sub(log1mExp(chosen), log1mExp(rejected)));
    losses = T.sub(T.neg(chosen), T.scale(logSigmoid(logOdds), beta));
  } else {
    const margin = T.addScalar(T.sub(chosen, rejected), -(opts.simpoGamma ?? 0.5) / beta);
    losses = T.neg(logSigmoid(T.scale(margin, beta)));
  }
  const ftx = opts.ftx ?? 0;
  if (ftx > 1e-6) {
    // The chosen replies' mean token NLL (LlamaFactory's sft_loss = -policy_chosen_logps_avg).
    const chosenAvg = average ? chosen : T.mul(
      chosen,
      T.tensor(inverseCounts(batch, pairs), [
        pairs,
        1,
      ]),
    );
    losses = T.sub(losses, T.scale(chosenAvg, ftx));
  }
  if (opts.metric) T.noGrad(() => reportMetrics(opts.metric!, rewards(), [chosen, rejected]));
  return T.mean(losses);
}

function reportMetrics(
  metric: (name: string, value: T.Tensor) => void,
  [chosen, rejected]: T.Tensor[],
  [chosenLogps, rejectedLogps]: T.Tensor[],
): void {
  metric("rewards/chosen", T.mean(chosen));
  metric("rewards/rejected", T.mean(rejected));
  metric("rewards/accuracies", T.mean(T.binaryRaw("gt", chosen, rejected)));
  metric("rewards/margins", T.mean(T.sub(chosen, rejected)));
  metric("logps/chosen", T.mean(chosenLogps));
  metric("logps/rejected", T.mean(rejectedLogps));
}

function inverseCounts(batch: HostBatch, pairs: number): Float32Array {
  return Float32Array.from(labelCounts(batch).slice(0, pairs), (n) => 1 / n);
}
