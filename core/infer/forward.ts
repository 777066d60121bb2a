// One forward of the model inside generation: the prefill of left-padded prompts (filling the
// cache and choosing token 0) and a decode step (one token per row from the state's next ids).

import type { Decoder } from "../model/decoder.ts";
import type { KvCache } from "../model/kv_cache.ts";
import * as T from "../tensor/mod.ts";
import { type DecodeState, sampleStep, type StepSampling } from "./sampling.ts";

type Tensor = T.Tensor;

/** Runs the left-padded prompts through the model, filling the cache, and picks token 0. */
export function prefill(
  model: Decoder,
  prompts: number[][],
  p: number,
  cache: KvCache,
  state: DecodeState,
  o: StepSampling & { padTokenId: number },
): void {
  const b = prompts.length;
  const ids = new Int32Array(b * p).fill(o.padTokenId);
  const mask = new Int32Array(b * p);
  const pos = new Int32Array(b * p);
  prompts.forEach((row, r) => {
    const pad = p - row.length;
    ids.set(row, r * p + pad);
    mask.fill(1, r * p + pad, (r + 1) * p);
    // transformers: position_ids = cumsum(mask) - 1, padding at a harmless value.
    for (let j = 0; j < row.length; j++) pos[r * p + pad + j] = j;
  });
  const h = model.hidden(T.tensor(ids, [b, p], { dtype: "i32" }), {
    positions: T.tensor(pos, [b, p], { dtype: "i32" }),
    keyMask: T.tensor(mask, [b, p], { dtype: "i32" }),
    cache,
  });
  // Left padding puts every row's last prompt token in the last column.
  sampleStep(lastLogits(model, T.slice(h, 1, p - 1, p)), state, { ...o, step: 0 });
}

export function decodeStep(
  model: Decoder,
  cache: KvCache,
  state: DecodeState,
  o: StepSampling & { step: number },
): void {
  const h = model.hidden(state.next, { positions: state.positions, cache });
  sampleStep(lastLogits(model, h), state, o);
}

/** f32 logits [B, V] for hidden states [B, 1, H]. */
function lastLogits(model: Decoder, h: Tensor): Tensor {
  const y = model.logits(h);
  const flat = T.reshape(y, [y.shape[0], y.shape[2]]);
  return flat.dtype === "f32" ? flat : T.cast(flat, "f32");
}
