// Blockwise-quantized weights on the GPU (layouts in core/tensor/quantize.ts): dequantizing to
// the compute dtype, and x W^T with a quantized W. The weight is frozen: its dequantized copy is
// a temporary released right after the matmul, made again in backward, which gives x's gradient
// only (bitsandbytes' MatMul4Bit does the same).

import { dequantInt8, dequantNf4 } from "../../../kernels/mod.ts";
import { noGrad, record } from "../autograd.ts";
import { gpu, grid, type KernelType } from "../gpu.ts";
import { DYNAMIC_CODE, INT8_CODE, NESTED_BLOCK, QUANT_BLOCK, type QuantType } from "../quantize.ts";
import { scope } from "../scope.ts";
import { empty, type Tensor } from "../tensor.ts";
import { groupsFor, kernelType, Params } from "./_util.ts";
import { matmul } from "./matmul.ts";

/** The GPU tensors of a quantized [out, in] weight (all frozen, owned by a QuantLinear). */
export interface QuantTensors {
  readonly type: QuantType;
  readonly shape: readonly [number, number];
  /** u32 words of codes: 8 nibbles (nf4, fp4) or 4 bytes (int8) each. */
  readonly codes: Tensor;
  /** f32 absmax per block of 64; with `nested`, u32 words of its 8-bit codes. */
  readonly absmax: Tensor;
  /** Double quantization: f32 absmax per 256 blocks (codes of DYNAMIC_CODE), the mean absmax. */
  readonly nested?: { absmax: Tensor; offset: number } | null;
}

/** bitsandbytes' 8-bit blockwise dequantization: code[byte] * absmax[block] + offset. */
function blockwise8(
  codes: Tensor,
  absmax: Tensor,
  opts: { code: Float32Array; n: number; block: number; offset?: number; out: Tensor },
): Tensor {
  const words = Math.ceil(opts.n / 4);
  const table = [...new Uint32Array(opts.code.buffer, opts.code.byteOffset, 256)];
  gpu().dispatch(dequantInt8, {
    type: opts.out.dtype as KernelType,
    constants: { BLOCK: opts.block },
    params: new Params(1040).u32(opts.n, words).f32(opts.offset ?? 0).u32(0).vec4u(table, 64)
      .bytes(),
    buffers: [codes.buffer("dequantize"), absmax.buffer(), opts.out.buffer()],
    workgroups: grid(groupsFor(words)),
  });
  return opts.out;
}

/** The weight [out, in] in `dtype` (a new tensor; no gradient). */
export function dequantize(q: QuantTensors, dtype: KernelType = "f32"): Tensor {
  return noGrad(() =>
    scope(() => {
      const n = q.shape[0] * q.shape[1];
      const out = empty(q.shape, dtype);
      if (n === 0) return out;
      if (q.type === "int8") {
        return blockwise8(q.codes, q.absmax, { code: INT8_CODE, n, block: QUANT_BLOCK, out });
      }
      const blocks = Math.ceil(n / QUANT_BLOCK);
      const absmax = q.nested
        ? blockwise8(q.absmax, q.nested.absmax, {
          code: DYNAMIC_CODE,
          n: blocks,
          block: NESTED_BLOCK,
          offset: q.nested.offset,
          out: empty([blocks], "f32"),
        })
        : q.absmax;
      const words = Math.ceil(n / 8);
      gpu().dispatch(dequantNf4, {
        type: dtype,
        constants: { FP4: q.type === "fp4" ? 1 : 0, BLOCK: QUANT_BLOCK },
        params: new Params().u32(n, words).bytes(),
        buffers: [q.codes.buffer("dequantize"), absmax.buffer(), out.buffer()],
        workgroups: grid(groupsFor(words)),
      });
      return out;
    })
  );
}

/** x [M, in] @ W^T -> [M, out] for a quantized W; backward gives x's gradient only. */
export function quantMatmul(x: Tensor, q: QuantTensors): Tensor {
  const dt = kernelType("quantMatmul", x);
  if (x.rank !== 2 || x.shape[1] !== q.shape[1]) {
    throw new TypeError(
      `Cannot multiply a tensor of shape [${x.shape}] by a quantized weight of shape [${q.shape}]: expected [rows, ${
        q.shape[1]
      }]`,
    );
  }
  const y = noGrad(() => scope(() => matmul(x, dequantize(q, dt), { transB: true })));
  return record("quant_matmul", y, [x], (g) => [
    scope(() => matmul(g, dequantize(q, kernelType("quantMatmul", g)))),
  ]);
}
