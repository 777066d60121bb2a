// Blockwise weight quantization on the host, as bitsandbytes quantizes a weight on load
// (functional.py quantize_4bit and quantize_blockwise): the flattened weight in blocks of 64,
// each divided by its absmax and mapped to the nearest code (a value exactly halfway goes to the
// lower code, as bitsandbytes' CUDA kernels decide); 4-bit codes two to a byte, the first element
// in the high nibble, bytes little-endian in u32 words, so the words hold bitsandbytes' packed
// uint8 tensor. Double quantization (its compress_statistics) keeps the absmax as 8-bit codes of
// (absmax - mean) over the dynamic map in blocks of 256, with an f32 absmax per 256 blocks.
// 8-bit weights are signed int8 codes (q / 127) with a per-block absmax, not bitsandbytes'
// LLM.int8 (see core/tensor/quant_linear.ts).

export type QuantType = "nf4" | "fp4" | "int8";

export const QUANT_BLOCK = 64;
export const NESTED_BLOCK = 256;

/** bitsandbytes' NF4 code (csrc/kernels.cu nf4_dequantization_lut, backends/utils.py). */
// deno-fmt-ignore
export const NF4_CODE: Float32Array = Float32Array.of(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);

// csrc/kernels.cu fp4_dequantization_lut: the magnitude of codes 0-7; bit 3 is the sign.
const FP4_LUT = [0.0, 0.005208333333, 0.66666667, 1.0, 0.33333333, 0.5, 0.16666667, 0.25];

/** bitsandbytes' FP4 code by 4-bit value: the LUT for 0-7, negated for 8-15. */
export const FP4_CODE: Float32Array = Float32Array.from(
  { length: 16 },
  (_, c) => (c & 8 ? -1 : 1) * FP4_LUT[c & 7],
);

/** The 8-bit weights' code by byte value: the two's-complement int8 over 127. */
export const INT8_CODE: Float32Array = Float32Array.from(
  { length: 256 },
  (_, b) => (b < 128 ? b : b - 256) / 127,
);

/** bitsandbytes' dynamic 8-bit map (functional.py create_dynamic_map(signed=True)), in f32. */
export const DYNAMIC_CODE: Float32Array = dynamicMap();

function dynamicMap(): Float32Array {
  const f = Math.fround, data = [0, 1];
  for (let i = 0; i < 7; i++) {
    // torch.linspace(0.1, 1, 2^i + 1) in f32: from the start below halfway, from the end after.
    const steps = 2 ** i + 1, lo = f(0.1), step = f(f(1 - lo) / (steps - 1));
    const b = Array.from(
      { length: steps },
      (_, k) => k < steps / 2 ? f(lo + f(step * k)) : f(1 - f(step * (steps - 1 - k))),
    );
    const scale = f(10 ** (i - 6));
    for (let k = 0; k + 1 < steps; k++) {
      const v = f(f(f(b[k] + b[k + 1]) / 2) * scale);
      data.push(v, -v);
    }
  }
  return Float32Array.from(data.sort((a, b) => a - b));
}

/** A weight quantized on the host: what QuantLinear uploads. */
export interface HostQuant {
  readonly type: QuantType;
  /** Number of elements. */
  readonly n: number;
  /** Codes in u32 words: 8 per word (4-bit) or 4 (8-bit). */
  readonly codes: Uint32Array;
  /** f32 absmax of each block of 64 (before any double quantization). */
  readonly absmax: Float32Array;
  /** Double quantization of `absmax`: 8-bit codes, an absmax per 256 blocks, the mean absmax. */
  readonly nested: { codes: Uint32Array; absmax: Float32Array; offset: number } | null;
}

/** Index of the nearest entry of an ascending table, ties to the lower one. */
function nearest(table: Float32Array): (s: number) => number {
  const mids = table.slice(1).map((v, i) => (table[i] + v) / 2);
  return (s) => {
    let lo = 0, hi = mids.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (s > mids[m]) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
}

const FP4_ORDER = [0, 1, 6, 7, 4, 5, 2, 3]; // FP4 codes by ascending magnitude
const nearestNf4 = nearest(NF4_CODE);
const nearestFp4Mag = nearest(Float32Array.from(FP4_ORDER, (c) => FP4_CODE[c]));
const nearestDynamic = nearest(DYNAMIC_CODE);
const CODERS: Record<QuantType | "dynamic", (s: number) => number> = {
  nf4: nearestNf4,
  fp4: (s) => FP4_ORDER[nearestFp4Mag(Math.abs(s))] | (s < 0 ? 8 : 0),
  int8: (s) => (Math.sign(s) * Math.round(Math.abs(s) * 127)) & 255,
  dynamic: nearestDynamic,
};

/** Codes and f32 absmax of `x` in blocks of `block`, `bits` per code. */
function blockwise(
  x: ArrayLike<number>,
  block: number,
  opts: { bits: 4 | 8; coder: (s: number) => number },
): { codes: Uint32Array; absmax: Float32Array } {
  const n = x.length, per = 32 / opts.bits;
  const absmax = new Float32Array(Math.ceil(n / block));
  const codes = new Uint32Array(Math.ceil(n / per));
  for (let b = 0; b < absmax.length; b++) {
    const end = Math.min(n, (b + 1) * block);
    let m = 0;
    for (let i = b * block; i < end; i++) m = Math.max(m, Math.abs(x[i]));
    absmax[b] = m;
    const inv = Math.fround(1 / absmax[b]); // bitsandbytes multiplies by the f32 reciprocal
    for (let i = b * block; i < end; i++) {
      const s = m > 0 ? Math.min(1, Math.max(-1, Math.fround(x[i] * inv))) : 0;
      const shift = opts.bits === 4 ? 8 * ((i & 7) >> 1) + (i & 1 ? 0 : 4) : 8 * (i & 3);
      codes[Math.floor(i / per)] |= opts.coder(s) << shift;
    }
  }
  return { codes, absmax };
}

/** Quantizes `w` (row-major [out, in], flattened) as bitsandbytes does on load. */
export function quantizeHost(
  w: ArrayLike<number>,
  type: QuantType,
  opts: { double?: boolean } = {},
): HostQuant {
  if (type !== "nf4" && type !== "fp4" && type !== "int8") {
    throw new TypeError(`Cannot quantize to "${type}": expected "nf4", "fp4" or "int8"`);
  }
  const bits = type === "int8" ? 8 : 4;
  const { codes, absmax } = blockwise(w, QUANT_BLOCK, { bits, coder: CODERS[type] });
  let nested: HostQuant["nested"] = null;
  if (opts.double && bits === 4) {
    const offset = Math.fround(absmax.reduce((s, a) => s + a, 0) / absmax.length);
    const q = blockwise(absmax.map((a) => a - offset), NESTED_BLOCK, {
      bits: 8,
      coder: CODERS.dynamic,
    });
    nested = { ...q, offset };
  }
  return { type, n: w.length, codes, absmax, nested };
}
