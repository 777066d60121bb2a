// ggml's Q8_0 blocks: 32 weights as one f16 scale d = max|x| / 127 and 32 int8 q = round(x / d)
// (ggml-quants.c `quantize_row_q8_0_ref`), 34 bytes a block.

export const Q8_0_BLOCK = 32;
export const Q8_0_BYTES = 34;

/** Quantizes `x` (length a multiple of 32) into Q8_0 blocks. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % Q8_0_BLOCK) {
    throw new RangeError(
      `Cannot quantize ${x.length} values to q8_0: the count must be a multiple of ${Q8_0_BLOCK}`,
    );
  }
  const n = x.length / Q8_0_BLOCK;
  const out = new Uint8Array(n * Q8_0_BYTES);
  const view = new DataView(out.buffer);
  const scale = new Float16Array(1);
  for (let b = 0; b < n; b++) {
    let amax = 0;
    for (let i = 0; i < Q8_0_BLOCK; i++) amax = Math.max(amax, Math.abs(x[b * Q8_0_BLOCK + i]));
    // In f32 as ggml computes them, so ties round the same way.
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    scale[0] = d;
    view.setUint16(b * Q8_0_BYTES, new Uint16Array(scale.buffer)[0], true);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      const v = Math.fround(x[b * Q8_0_BLOCK + i] * id);
      // C's roundf: halves away from zero (Math.round takes -2.5 to -2, roundf to -3).
      view.setInt8(b * Q8_0_BYTES + 2 + i, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

/** The values Q8_0 blocks stand for. */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  const n = bytes.length / Q8_0_BYTES;
  const out = new Float32Array(n * Q8_0_BLOCK);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = new Float16Array(1), u = new Uint16Array(h.buffer);
  for (let b = 0; b < n; b++) {
    u[0] = view.getUint16(b * Q8_0_BYTES, true);
    for (let i = 0; i < Q8_0_BLOCK; i++) {
      out[b * Q8_0_BLOCK + i] = h[0] * view.getInt8(b * Q8_0_BYTES + 2 + i);
    }
  }
  return out;
}
