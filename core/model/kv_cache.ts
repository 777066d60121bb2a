// A preallocated KV cache: per layer, keys and values [B, Hkv, maxLen, D] written in place at the
// current length by the kv_write kernel (no concatenation per step, no copy of the cache), read by
// attention with queryOffset. Sliding-window layers use the same full cache with the window mask.

import { kvWrite } from "../../kernels/mod.ts";
import * as T from "../tensor/mod.ts";
import { Params } from "../tensor/ops/_util.ts";
import type { DecoderConfig } from "./config.ts";

type Tensor = T.Tensor;

export interface KvCacheOptions {
  batch: number;
  /** Capacity in positions (prompt plus new tokens). */
  maxLen: number;
  /** Element type of the cache (the model's compute dtype; default f32). */
  dtype?: "f32" | "f16";
  /** Left padding of each row: cache positions below it are masked out (default none). */
  leftPad?: readonly number[];
}

export class KvCache {
  readonly batch: number;
  readonly maxLen: number;
  readonly keys: Tensor[] = [];
  readonly values: Tensor[] = [];
  /** i32 [B, maxLen]: 0 on each row's left padding, 1 elsewhere (causality hides the future). */
  readonly mask: Tensor;
  /** Each row's first real column (its left padding): its tokens fill [start, length). */
  readonly starts: readonly number[];
  /** Positions written so far; the decoder advances it after each forward. */
  length = 0;

  constructor(cfg: DecoderConfig, opts: KvCacheOptions) {
    const { batch, maxLen } = opts;
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(maxLen) || maxLen < 1) {
      throw new RangeError(
        `Cannot make a KV cache of batch ${batch} and length ${maxLen}: expected positive integers`,
      );
    }
    const pad = opts.leftPad ?? new Array(batch).fill(0);
    if (pad.length !== batch || pad.some((p) => !Number.isInteger(p) || p < 0 || p >= maxLen)) {
      throw new RangeError(
        `Cannot make a KV cache with left padding [${pad}]: expected ${batch} integers in [0, ${maxLen})`,
      );
    }
    this.batch = batch;
    this.maxLen = maxLen;
    this.starts = [...pad];
    const shape = [batch, cfg.numKvHeads, maxLen, cfg.headDim];
    // Zeroed once: attention multiplies masked probabilities (0) by cache values, and stale pool
    // memory may hold NaN bit patterns.
    for (let i = 0; i < cfg.numLayers; i++) {
      this.keys.push(T.keep(T.zeros(shape, opts.dtype ?? "f32")));
      this.values.push(T.keep(T.zeros(shape, opts.dtype ?? "f32")));
    }
    const m = new Int32Array(batch * maxLen);
    for (let b = 0; b < batch; b++) m.fill(1, b * maxLen + pad[b], (b + 1) * maxLen);
    this.mask = T.keep(T.tensor(m, [batch, maxLen], { dtype: "i32" }));
  }

  /** Writes k and v [B, Hkv, T, D] of layer `layer` at positions [length, length + T). */
  write(layer: number, k: Tensor, v: Tensor): void {
    const ck = this.keys[layer], cv = this.values[layer];
    const [b, h, t, d] = k.shape;
    if (
      k.rank !== 4 || b !== this.batch || h !== ck.shape[1] || d !== ck.shape[3] ||
      v.shape.some((x, i) => x !== k.shape[i])
    ) {
      throw new TypeError(
        `Cannot write keys [${k.shape}] and values [${v.shape}] into a KV cache of shape [${ck.shape}]: expected [${this.batch}, ${
          ck.shape[1]
        }, T, ${ck.shape[3]}]`,
      );
    }
    if (k.dtype !== ck.dtype || v.dtype !== ck.dtype) {
      throw new TypeError(
        `Cannot write ${k.dtype} keys into a ${ck.dtype} KV cache: make the cache with the model's dtype`,
      );
    }
    if (this.length + t > this.maxLen) {
      throw new RangeError(
        `Cannot write ${t} positions into a KV cache at length ${this.length}: its capacity is ${this.maxLen}`,
      );
    }
    const n = k.size;
    T.gpu().dispatch(kvWrite, {
      type: ck.dtype as "f32" | "f16",
      params: new Params().u32(n, d, t, this.maxLen, this.length).bytes(),
      buffers: [k.buffer("cache"), v.buffer("cache"), ck.buffer("cache"), cv.buffer("cache")],
      workgroups: T.grid(Math.ceil(n / 256)),
    });
  }

  /**
   * Copies row `from`'s last `n` positions of `src` (a cache of the same model) to row `to` of
   * this cache, ending at column `end`: a row moves between batches without being recomputed.
   */
  copyRow(src: KvCache, rows: { from: number; to: number; n: number; end: number }): void {
    const { from, to, n, end } = rows;
    const [, h, , d] = this.keys[0].shape;
    if (src.keys.length !== this.keys.length || src.keys[0].dtype !== this.keys[0].dtype) {
      throw new TypeError("Cannot copy between KV caches of different models or dtypes");
    }
    if (n > src.length - src.starts[from] || end > this.maxLen || end - n < this.starts[to]) {
      throw new RangeError(
        `Cannot copy ${n} positions of row ${from} (holding ${
          src.length - src.starts[from]
        }) to columns [${end - n}, ${end}) of row ${to} (its tokens start at ${this.starts[to]})`,
      );
    }
    const bytes = this.keys[0].dtype === "f16" ? 2 : 4, g = T.gpu();
    for (let l = 0; l < this.keys.length; l++) {
      for (const [a, b] of [[src.keys[l], this.keys[l]], [src.values[l], this.values[l]]]) {
        for (let head = 0; head < h; head++) {
          const at = ((from * h + head) * src.maxLen + src.length - n) * d * bytes;
          const to_ = ((to * h + head) * this.maxLen + end - n) * d * bytes;
          g.copy(a.buffer("cache copy"), at, b.buffer("cache copy"), to_, n * d * bytes);
        }
      }
    }
  }

  release(): void {
    for (const t of [...this.keys, ...this.values, this.mask]) t.release();
  }
}
