// Batched matrix multiplication with numpy batch broadcasting and transposes read in place, and its
// backward rule. Large aligned shapes run the 128 x 128 register-tiled kernel; a Linear on at most 8
// rows (x W^T in KV-cached decoding) the matvec kernels, which read the weight once; the rest the
// simple shared-memory tiled kernel. A bf16 b (frozen checkpoint weights) with an f32 a is widened
// in-kernel and gives f32.

import {
  MATMUL_FAST_TILE,
  matmulFast,
  matmulFastBf16,
  matmulTiled,
  matmulTiledBf16,
  matvec,
  MATVEC_COLUMNS,
  MATVEC_MAX_ROWS,
  matvecShared,
} from "../../../kernels/mod.ts";
import { record } from "../autograd.ts";
import { gpu, grid } from "../gpu.ts";
import { empty, numel, type Tensor } from "../tensor.ts";
import { broadcastStrides, kernelType, Params, sameDtype } from "./_util.ts";
import { sumTo } from "./reduce.ts";

export interface MatmulOptions {
  /** Read `a` as [..., K, M] and use its transpose. */
  transA?: boolean;
  /** Read `b` as [..., N, K] and use its transpose. */
  transB?: boolean;
}

export interface MatmulRawOptions extends MatmulOptions {
  /**
   * Force a kernel (tests, benchmarks); by default large aligned shapes take "fast" and a 2-D b
   * read transposed times at most 8 rows "matvec".
   */
  kernel?: "tiled" | "fast" | "matvec";
  /** Threads per matvec workgroup (tuning); by default from K. */
  matvecThreads?: 64 | 128 | 256;
}

const TILE = 16;
const MAX_BATCH_DIMS = 4;
// Below this many rows or columns a 128 x 128 block is mostly idle; the small tiles win.
const FAST_MIN = 64;

/** op(a) @ op(b) over broadcast batch dims: a [..., M, K], b [..., K, N] -> [..., M, N]. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  if (b.dtype === "bf16" && (b.requiresGrad || (opts.transA && a.requiresGrad))) {
    throw new TypeError(
      `Cannot differentiate matmul of shape ${fmt(a.shape)} by a bf16 b${
        b.requiresGrad ? " that requires grad: bf16 weights are frozen" : " with transA"
      } (cast b to f32 first)`,
    );
  }
  const out = matmulRaw(a, b, opts);
  return record("matmul", out, [a, b], (g) => [
    a.requiresGrad ? sumTo(gradA(g, b, opts), a.shape) : null,
    b.requiresGrad ? sumTo(gradB(g, a, b, opts), b.shape) : null,
  ]);
}

// C = op(A) op(B): dA = dC op(B)^T, stored transposed again when A was read transposed.
function gradA(g: Tensor, b: Tensor, o: MatmulOptions): Tensor {
  if (!o.transA) return matmulRaw(g, b, { transB: !o.transB });
  return matmulRaw(b, g, { transA: o.transB, transB: true });
}

function gradB(g: Tensor, a: Tensor, b: Tensor, o: MatmulOptions): Tensor {
  // A weight shared over the batch: one matmul over the flattened rows instead of one per batch
  // item followed by a sum.
  if (!o.transA && a.rank > 2 && numel(b.shape.slice(0, -2)) === 1) {
    const k = a.shape[a.rank - 1], n = g.shape[g.rank - 1];
    const a2 = a.view([a.size / k, k]), g2 = g.view([g.size / n, n]);
    const d = o.transB ? matmulRaw(g2, a2, { transA: true }) : matmulRaw(a2, g2, { transA: true });
    const v = d.view(b.shape);
    for (const t of [a2, g2, d]) t.release();
    return v;
  }
  if (!o.transB) return matmulRaw(a, g, { transA: !o.transA });
  return matmulRaw(g, a, { transA: true, transB: o.transA });
}

// LLAMAFORGE_DISABLE=matvec (read once) or setMatvec(false) sends small-M products to the tiled
// kernel, to compare the two paths.
let matvecOn: boolean | null = null;

/** Turns the matvec path for M <= 8 on or off (tests, benchmarks); returns the previous state. */
export function setMatvec(on: boolean): boolean {
  const was = matvecEnabled();
  matvecOn = on;
  return was;
}

function matvecEnabled(): boolean {
  matvecOn ??= !(Deno.env.get("LLAMAFORGE_DISABLE") ?? "").split(",").some((s) =>
    s.trim() === "matvec"
  );
  return matvecOn;
}

/** The matmul kernels without recording a backward node. */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulRawOptions = {}): Tensor {
  const plan = planMatmul(a, b, opts);
  const bf16 = b.dtype === "bf16";
  const type = bf16 ? "f32" : kernelType("matmul", a);
  const out = empty(plan.outShape, a.dtype);
  if (chooseMatvec(plan, opts)) {
    dispatchMatvec(a, b, out, { plan, type, threads: opts.matvecThreads });
    return out;
  }
  const fast = chooseFast(plan, opts);
  const kernel = fast
    ? (bf16 ? matmulFastBf16 : matmulFast)
    : (bf16 ? matmulTiledBf16 : matmulTiled);
  const tile = fast ? MATMUL_FAST_TILE : TILE;
  const constants: Record<string, number> = {
    TRANS_A: opts.transA ? 1 : 0,
    TRANS_B: opts.transB ? 1 : 0,
  };
  if (!fast) constants.TILE = TILE;
  const pad = (xs: number[], fill: number) => [...Array(4 - xs.length).fill(fill), ...xs];
  const total = numel(plan.batch);
  const maxZ = gpu().limits.maxComputeWorkgroupsPerDimension;
  for (let z0 = 0; z0 < total; z0 += maxZ) {
    gpu().dispatch(kernel, {
      type,
      constants,
      params: new Params()
        .u32(plan.m, plan.n, plan.k, z0)
        .vec4u(pad(plan.batch, 1), 1)
        .vec4u(pad(plan.aStrides, 0), 1)
        .vec4u(pad(plan.bStrides, 0), 1)
        .bytes(),
      buffers: [a.buffer("matmul"), b.buffer("matmul"), out.buffer("matmul")],
      workgroups: [
        Math.ceil(plan.n / tile),
        Math.ceil(plan.m / tile),
        Math.min(maxZ, total - z0),
      ],
    });
  }
  return out;
}

interface Plan {
  outShape: number[];
  m: number;
  n: number;
  k: number;
  /** Batch dims after merging (at most 4), and each operand's element stride along them. */
  batch: number[];
  aStrides: number[];
  bStrides: number[];
  transA: boolean;
  transB: boolean;
}

function planMatmul(a: Tensor, b: Tensor, opts: MatmulOptions): Plan {
  const what = `Cannot matmul tensors of shape ${fmt(a.shape)} and ${fmt(b.shape)}`;
  if (a.rank < 2 || b.rank < 2) throw new TypeError(`${what}: both need at least 2 dimensions`);
  if (b.dtype !== "bf16") sameDtype("matmul", a, b);
  else if (a.dtype !== "f32") {
    throw new TypeError(
      `Cannot matmul tensors of dtype ${a.dtype} and bf16: a bf16 b needs an f32 a`,
    );
  }
  const transA = opts.transA ?? false, transB = opts.transB ?? false;
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const [m, ka] = transA ? [ac, ar] : [ar, ac];
  const [kb, n] = transB ? [bc, br] : [br, bc];
  if (ka !== kb) throw new TypeError(`${what}: inner dimensions ${ka} and ${kb} differ`);
  const aBatch = a.shape.slice(0, -2), bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aBatch[aBatch.length - rank + i] ?? 1, db = bBatch[bBatch.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new TypeError(
        `${what}: batch dimensions ${fmt(aBatch)} and ${fmt(bBatch)} do not broadcast`,
      );
    }
    batch.push(da === 1 ? db : da);
  }
  const plan = { outShape: [...batch, m, n], m, n, k: ka, transA, transB };
  // b shared by every batch item and a's rows contiguous: the batch is just more rows of a.
  if (numel(bBatch) === 1 && !transA) {
    return { ...plan, m: m * numel(batch), batch: [], aStrides: [], bStrides: [] };
  }
  const as = broadcastStrides(aBatch, batch).map((s) => s * m * ka);
  const bs = broadcastStrides(bBatch, batch).map((s) => s * ka * n);
  const dims: number[] = [], aStrides: number[] = [], bStrides: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    if (batch[i] === 1) continue;
    const j = dims.length - 1;
    // Merge into the previous dim when both operands step through the two as through one.
    if (j >= 0 && aStrides[j] === as[i] * batch[i] && bStrides[j] === bs[i] * batch[i]) {
      dims[j] *= batch[i];
      aStrides[j] = as[i];
      bStrides[j] = bs[i];
    } else {
      dims.push(batch[i]);
      aStrides.push(as[i]);
      bStrides.push(bs[i]);
    }
  }
  if (dims.length > MAX_BATCH_DIMS) {
    throw new RangeError(
      `${what}: the batch dimensions ${
        fmt(batch)
      } need ${dims.length} strided dims, the limit is ${MAX_BATCH_DIMS}`,
    );
  }
  return { ...plan, batch: dims, aStrides, bStrides };
}

function chooseMatvec(p: Plan, opts: MatmulRawOptions): boolean {
  // One weight [N, K] read as stored for every row: a Linear's x W^T with the batch folded into M.
  const fits = p.transB && !p.transA && p.batch.length === 0 && p.m >= 1 &&
    p.m <= MATVEC_MAX_ROWS;
  if (opts.kernel === "matvec" && !fits) {
    throw new RangeError(
      `Cannot run matvec on M=${p.m}, N=${p.n}, K=${p.k}${
        p.transB && !p.transA ? "" : " without transB (or with transA)"
      }: it needs 1 to ${MATVEC_MAX_ROWS} rows times one transposed b`,
    );
  }
  if (opts.kernel) return opts.kernel === "matvec";
  return fits && matvecEnabled();
}

function dispatchMatvec(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  o: { plan: Plan; type: "f32" | "f16"; threads?: number },
): void {
  const { m, n, k } = o.plan;
  // 16 bytes of weight per load: 4 f32 or 8 halves.
  const e = b.dtype === "f32" ? 4 : 8;
  const kc = Math.ceil(k / e);
  // 128 threads measured best or within noise of it on an H100 for K = 896 and 4864, f32 and bf16,
  // M = 1 and 8 (the LM head: 177 us against 200 with 64 and 183 with 256); 64 for short rows.
  const wg = o.threads ?? (kc <= 64 ? 64 : 128);
  const kernel = gpu().has("subgroups") && gpu().subgroupSize <= wg ? matvec : matvecShared;
  gpu().dispatch(kernel, {
    type: o.type,
    constants: {
      WG: wg,
      M_ROWS: m,
      WEIGHT: b.dtype === "bf16" ? 2 : b.dtype === "f16" ? 1 : 0,
      ALIGNED: k % e === 0 ? 1 : 0,
    },
    params: new Params().u32(m, n, k, kc).bytes(),
    buffers: [a.buffer("matmul"), b.buffer("matmul"), out.buffer("matmul")],
    workgroups: grid(Math.ceil(n / MATVEC_COLUMNS), gpu().limits.maxComputeWorkgroupsPerDimension),
  });
}

function chooseFast(p: Plan, opts: MatmulRawOptions): boolean {
  // matmul_fast reads 4 elements at a time along each operand's contiguous dimension.
  const aligned = (p.transA ? p.m : p.k) % 4 === 0 && (p.transB ? p.k : p.n) % 4 === 0;
  if (opts.kernel === "fast" && !aligned) {
    throw new RangeError(
      `Cannot run matmul_fast on M=${p.m}, N=${p.n}, K=${p.k}: the contiguous dimensions must be multiples of 4`,
    );
  }
  if (opts.kernel) return opts.kernel === "fast";
  return aligned && p.m >= FAST_MIN && p.n >= FAST_MIN;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
