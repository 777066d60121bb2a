// Blockwise-quantized weights on the GPU (layouts in core/tensor/quantize.ts): dequantizing to
// the compute dtype, and x W^T with a quantized W. The weight is frozen: its dequantized copy is
// a temporary released right after the matmul, made again in backward, which gives x's gradient
// only (bitsandbytes' MatMul4Bit does the same). Decoding (at most 8 rows, 4-bit, K a multiple of
// 8) skips the temporary: matvec_q4 multiplies straight from the codes (bitsandbytes' gemv_4bit).
// 8-bit weights keep dequantize + matmul.

import {
  dequantInt8,
  dequantNf4,
  MATVEC_COLUMNS,
  MATVEC_MAX_ROWS,
  matvecQ4,
  matvecQ4Shared,
} from "../../../kernels/mod.ts";
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

/** The f32 absmax per block of a 4-bit weight (dequantized first with double quantization). */
function absmaxOf(q: QuantTensors): Tensor {
  if (!q.nested) return q.absmax;
  const blocks = Math.ceil(q.shape[0] * q.shape[1] / QUANT_BLOCK);
  return blockwise8(q.absmax, q.nested.absmax, {
    code: DYNAMIC_CODE,
    n: blocks,
    block: NESTED_BLOCK,
    offset: q.nested.offset,
    out: empty([blocks], "f32"),
  });
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
      const absmax = absmaxOf(q);
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
  const y = fusedEnabled() && fits(x, q)
    ? quantMatvec(x, q)
    : noGrad(() => scope(() => matmul(x, dequantize(q, dt), { transB: true })));
  return record("quant_matmul", y, [x], (g) => [
    scope(() => matmul(g, dequantize(q, kernelType("quantMatmul", g)))),
  ]);
}

// LLAMAFORGE_DISABLE=matvec_q4 (read once) or setQuantMatvec(false) sends decoding products
// through dequantize + matmul, to compare the two paths.
let fusedOn: boolean | null = null;

/** Turns the fused 4-bit matvec for M <= 8 on or off (tests, benchmarks); returns the previous. */
export function setQuantMatvec(on: boolean): boolean {
  const was = fusedEnabled();
  fusedOn = on;
  return was;
}

function fusedEnabled(): boolean {
  fusedOn ??= !(Deno.env.get("LLAMAFORGE_DISABLE") ?? "").split(",").some((s) =>
    s.trim() === "matvec_q4"
  );
  return fusedOn;
}

/** Whether matvec_q4 takes x @ W^T: at most 8 rows, a 4-bit W, K a multiple of 8. */
function fits(x: Tensor, q: QuantTensors): boolean {
  return x.rank === 2 && x.shape[1] === q.shape[1] && q.type !== "int8" && x.shape[0] >= 1 &&
    x.shape[0] <= MATVEC_MAX_ROWS && q.shape[1] % 8 === 0;
}

/**
 * x [M, K] @ W^T for M <= 8, a 4-bit W and K a multiple of 8, straight from the codes (no
 * gradient; quantMatmul records it).
 */
export function quantMatvec(x: Tensor, q: QuantTensors): Tensor {
  const dt = kernelType("quantMatvec", x);
  if (!fits(x, q)) {
    throw new TypeError(
      `Cannot run matvec_q4 on a tensor of shape [${x.shape}] and a ${q.type} weight of shape [${q.shape}]: it needs 1 to ${MATVEC_MAX_ROWS} rows, a 4-bit weight and K a multiple of 8`,
    );
  }
  const [n, k] = q.shape, m = x.shape[0];
  return noGrad(() =>
    scope(() => {
      const out = empty([m, n], dt);
      if (n === 0) return out;
      // One word of 8 codes per load: 64 threads while a row has at most 64 words, else 128.
      const wg = k / 8 <= 64 ? 64 : 128;
      const sub = gpu().has("subgroups") && gpu().subgroupSize <= wg && gpu().subgroupSize >= 4;
      gpu().dispatch(sub ? matvecQ4 : matvecQ4Shared, {
        type: dt,
        constants: { WG: wg, M_ROWS: m, FP4: q.type === "fp4" ? 1 : 0, BLOCK: QUANT_BLOCK },
        params: new Params().u32(m, n, k, k / 8).bytes(),
        buffers: [x.buffer("matmul"), q.codes.buffer("matmul"), absmaxOf(q).buffer(), out.buffer()],
        workgroups: grid(
          Math.ceil(n / MATVEC_COLUMNS),
          gpu().limits.maxComputeWorkgroupsPerDimension,
        ),
      });
      return out;
    })
  );
}
