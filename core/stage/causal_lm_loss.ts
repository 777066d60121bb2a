// Next-token cross-entropy of a decoder on a padded batch, as transformers' ForCausalLMLoss
// computes it: logits[:, :-1] against labels[:, 1:], mean over the labels not ignored. Only the
// positions with a label go through the vocabulary head, so masked prompts and padding cost no
// [tokens, vocab] logits (the loss and its gradients are the same).

import { type HostBatch, IGNORE_INDEX, shiftLabels } from "../data/collate.ts";
import * as T from "../tensor/mod.ts";
import type { CausalLM, LossOptions } from "./stage.ts";

/** The batch as decoder inputs: ids, positions, and key mask and segment ids where needed. */
export function batchInputs(batch: HostBatch): {
  ids: T.Tensor;
  positions: T.Tensor;
  keyMask?: T.Tensor;
  segmentIds?: T.Tensor;
} {
  const shape = [batch.batch, batch.length];
  const i32 = (a: Int32Array) => T.tensor(a, shape, { dtype: "i32" });
  return {
    ids: i32(batch.inputIds),
    positions: i32(batch.positions),
    keyMask: batch.padded ? i32(batch.keyMask) : undefined,
    segmentIds: batch.segmentIds && i32(batch.segmentIds),
  };
}

/** The decoder's hidden states as [batch × length, hidden] and the (row, label) pairs with a loss. */
export function labelledHidden(
  model: CausalLM,
  batch: HostBatch,
  opts: { gradientCheckpointing?: boolean } = {},
): { flat: T.Tensor; rows: number[]; targets: number[] } {
  const { batch: b, length: t } = batch;
  const { ids, ...inputs } = batchInputs(batch);
  const hidden = model.hidden(ids, {
    ...inputs,
    gradientCheckpointing: opts.gradientCheckpointing,
  });
  const rows: number[] = [], targets: number[] = [];
  shiftLabels(batch.labels, b, t).forEach((label, i) => {
    if (label !== IGNORE_INDEX) [rows[rows.length], targets[targets.length]] = [i, label];
  });
  return { flat: T.reshape(hidden, [b * t, hidden.shape[hidden.rank - 1]]), rows, targets };
}

/**
 * Cross-entropy of the chosen rows of `flat` against their targets, summed or one per row.
 * NOTE: logits go through the head in chunks of rows: 4 x 1024 tokens of a 152k vocabulary
 * would be 2.5 GB of f32, past the 2 GiB a WebGPU binding can hold.
 */
export function chunkedCrossEntropy(
  model: CausalLM,
  flat: T.Tensor,
  rows: readonly number[],
  targets: readonly number[],
  opts: { reduction: "sum" | "none"; logitRows?: number },
): T.Tensor {
  const chunk = opts.logitRows ?? LOGIT_ROWS;
  const parts: T.Tensor[] = [];
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const x = part.length === flat.shape[0] ? flat : T.indexSelect(flat, 0, Int32Array.from(part));
    const labels = T.tensor(Int32Array.from(targets.slice(start, start + chunk)), [part.length], {
      dtype: "i32",
    });
    parts.push(T.crossEntropy(model.logits(x), labels, { reduction: opts.reduction }));
  }
  if (opts.reduction === "sum") return parts.reduce((a, x) => T.add(a, x));
  return parts.length === 1 ? parts[0] : T.concat(parts, 0);
}

/** Scalar f32 loss; call inside a scope (the uploaded inputs are intermediates). */
export function causalLmLoss(model: CausalLM, batch: HostBatch, opts: LossOptions = {}): T.Tensor {
  const { flat, rows, targets } = labelledHidden(model, batch, opts);
  // Nothing to learn: one ignored row still gives a zero loss that backpropagates.
  if (rows.length === 0) [rows[0], targets[0]] = [0, IGNORE_INDEX];
  if (opts.numItems !== undefined && !(opts.numItems > 0)) {
    throw new RangeError(`Cannot average the loss over ${opts.numItems} items: expected > 0`);
  }
  const count = opts.numItems ?? Math.max(1, targets.filter((x) => x !== IGNORE_INDEX).length);
  const total = chunkedCrossEntropy(model, flat, rows, targets, {
    reduction: "sum",
    logitRows: opts.logitRows,
  });
  return T.scale(total, 1 / count);
}

/** Rows of logits computed at once (1024 x 152k f32 is 0.6 GB). */
const LOGIT_ROWS = 1024;
