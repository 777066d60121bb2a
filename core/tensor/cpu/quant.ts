// f64 reference of blockwise dequantization (bitsandbytes' dequantize_4bit and
// dequantize_blockwise, with the double-quantized absmax), over host-quantized weights.

import {
  DYNAMIC_CODE,
  FP4_CODE,
  type HostQuant,
  INT8_CODE,
  NESTED_BLOCK,
  NF4_CODE,
  QUANT_BLOCK,
} from "../quantize.ts";

/** Code of element e: 4-bit (first of a byte in the high nibble) or 8-bit, in u32 words. */
export function codeAt(codes: Uint32Array, e: number, bits: 4 | 8): number {
  if (bits === 8) return (codes[e >> 2] >>> (8 * (e & 3))) & 255;
  return (codes[e >> 3] >>> (8 * ((e & 7) >> 1) + (e & 1 ? 0 : 4))) & 15;
}

/** The absmax the GPU uses: as stored, or decoded from its 8-bit codes. */
export function absmaxCpu(q: HostQuant): Float64Array {
  const nested = q.nested;
  if (!nested) return Float64Array.from(q.absmax);
  return Float64Array.from(
    q.absmax,
    (_, b) =>
      DYNAMIC_CODE[codeAt(nested.codes, b, 8)] * nested.absmax[Math.floor(b / NESTED_BLOCK)] +
      nested.offset,
  );
}

/** The dequantized weight, flattened. */
export function dequantizeCpu(q: HostQuant): Float64Array {
  const code = q.type === "nf4" ? NF4_CODE : q.type === "fp4" ? FP4_CODE : INT8_CODE;
  const bits = q.type === "int8" ? 8 : 4;
  const absmax = absmaxCpu(q);
  return Float64Array.from(
    { length: q.n },
    (_, e) => code[codeAt(q.codes, e, bits)] * absmax[Math.floor(e / QUANT_BLOCK)],
  );
}
