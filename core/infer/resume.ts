// Resuming a batch with new members (continuous batching): rows that were generating keep their
// KV cache, copied into the new batch's cache (nothing recomputed); new rows are prefilled on their
// own and copied in beside them. Every row then waits with one token chosen and not yet fed, as
// after a prefill, so decoding goes on with one step for all.

import type { Decoder } from "../model/decoder.ts";
import { KvCache } from "../model/kv_cache.ts";
import * as T from "../tensor/mod.ts";
import { prefill } from "./forward.ts";
import { DecodeState, type StepSampling } from "./sampling.ts";

/** The KV cache's element type: the model's compute dtype. */
export function cacheDtype(model: Decoder): "f16" | "f32" {
  return model.embed.weight.dtype === "f16" ? "f16" : "f32";
}

/** Where each row of a resumed batch comes from. */
export interface Resume {
  /**
   * The previous batch's cache, handed over (released here). A row taken from it holds its
   * context but its last token (the one chosen and not yet fed).
   */
  cache: KvCache;
  /** Each row's row in `cache`, or null for a new row (prefilled here). */
  from: readonly (number | null)[];
}

/**
 * The cache and decode state of a resumed batch. `prompts[r]` is row r's whole context: for a
 * resumed row, ending with its chosen token; a new row's token 0 is chosen here.
 */
export async function resumeBatch(
  model: Decoder,
  prompts: readonly (readonly number[])[],
  o: StepSampling & {
    maxNew: number;
    penalty: boolean;
    padTokenId: number;
    eosTokenIds: readonly number[];
    resume: Resume;
  },
): Promise<{ cache: KvCache; state: DecodeState }> {
  const { cache: old, from } = o.resume;
  const dtype = cacheDtype(model);
  let fresh: KvCache | undefined;
  try {
    if (from.length !== prompts.length) {
      throw new TypeError(
        `Cannot resume ${prompts.length} rows from ${from.length} sources: expected one per row`,
      );
    }
    from.forEach((f, r) => {
      if (f !== null && old.length - old.starts[f] !== prompts[r].length - 1) {
        throw new RangeError(
          `Cannot resume row ${r} of ${prompts[r].length} tokens from cache row ${f}, which holds ${
            old.length - old.starts[f]
          }: expected all but the last`,
        );
      }
    });
    const news = [...from.keys()].filter((r) => from[r] === null);
    const contexts = prompts.map((p) => [...p]);
    if (news.length) {
      const ps = news.map((r) => [...prompts[r]]), p = Math.max(...ps.map((x) => x.length));
      fresh = new KvCache(model.cfg, {
        batch: news.length,
        maxLen: p,
        dtype,
        leftPad: ps.map((x) => p - x.length),
      });
      const sub = new DecodeState({
        vocabSize: model.cfg.vocabSize,
        maxNew: 1,
        context: ps,
        penalty: o.penalty,
      });
      try {
        const rows = o.rows && news.map((r) => o.rows![r]);
        T.noGrad(() => T.scope(() => prefill(model, ps, p, fresh!, sub, { ...o, rows })));
        const first = await sub.tokens.data();
        news.forEach((r, i) => contexts[r].push(first[i]));
      } finally {
        sub.release();
      }
    }
    // Every row now holds its context less its last token; right-aligned at column `len`.
    const held = contexts.map((c) => c.length - 1), len = Math.max(...held);
    const cache = new KvCache(model.cfg, {
      batch: prompts.length,
      maxLen: len + o.maxNew - 1,
      dtype,
      leftPad: held.map((n) => len - n),
    });
    from.forEach((f, r) => {
      const src = f === null ? fresh! : old, row = f ?? news.indexOf(r);
      cache.copyRow(src, { from: row, to: r, n: held[r], end: len });
    });
    cache.length = len;
    const eos = new Set(o.eosTokenIds);
    const last = contexts.map((c) => c[c.length - 1]);
    const state = new DecodeState({
      vocabSize: model.cfg.vocabSize,
      maxNew: o.maxNew,
      context: contexts,
      penalty: o.penalty,
      pending: { tokens: last, done: last.map((id, r) => from[r] === null && eos.has(id)) },
    });
    return { cache, state };
  } finally {
    old.release();
    fresh?.release();
  }
}
