// Per-row log-prob sums of a batch's labels from the model's full logits, computed in f64 on the
// host: the reference the preference-loss tests compare with.
import { type HostBatch, IGNORE_INDEX } from "../../../core/data/collate.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import { batchInputs } from "../../../core/stage/mod.ts";
import * as T from "../../../core/tensor/mod.ts";

/** Per-row log-prob sums and label counts from full logits, in f64. */
export async function hostLogps(model: Decoder, batch: HostBatch) {
  const t = batch.length, v = model.cfg.vocabSize;
  const logits = T.noGrad(() =>
    T.scope(() => {
      const inputs = batchInputs(batch);
      return model.forward(inputs.ids, inputs);
    })
  );
  const data = await logits.data();
  logits.release();
  const sums = new Array(batch.batch).fill(0), counts = new Array(batch.batch).fill(0);
  for (let r = 0; r < batch.batch; r++) {
    for (let i = 0; i + 1 < t; i++) {
      const label = batch.labels[r * t + i + 1];
      if (label === IGNORE_INDEX) continue;
      const row = data.subarray((r * t + i) * v, (r * t + i + 1) * v);
      let max = -Infinity;
      for (const x of row) max = Math.max(max, x);
      let z = 0;
      for (const x of row) z += Math.exp(x - max);
      sums[r] += row[label] - max - Math.log(z);
      counts[r]++;
    }
  }
  return { sums, counts };
}
