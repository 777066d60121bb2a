// Batched matrix multiplication with numpy batch broadcasting and transposes read in place, and its
// backward rule. Large aligned shapes run the 128 x 128 register-tiled kernel; aligned shapes with
// too few 128 x 128 blocks to fill the GPU (a prefill's [512, 896] x [896, 896]^T, LoRA's skinny
// products) its matmul_flex twin with 64-wide blocks and/or split-K; a Linear on at most 8 rows
// (x W^T in KV-cached decoding) the matvec kernels, which read the weight once; the rest the simple
// shared-memory tiled kernel. A bf16 b (frozen checkpoint weights) with an f32 a is widened
// in-kernel and gives f32.

import {
  MATMUL_FAST_TILE,
  matmulFast,
  matmulFastBf16,
  matmulFlex,
  matmulFlexBf16,
  matmulTiled,
  matmulTiledBf16,
  matvec,
  MATVEC_COLUMNS,
  MATVEC_MAX_ROWS,
  matvecShared,
  reduceStrided,
} from "../../../kernels/mod.ts";
import { record } from "../autograd.ts";
import { gpu, grid } from "../gpu.ts";
import { empty, numel, type Tensor } from "../tensor.ts";
import { broadcastStrides, groupsFor, kernelType, Params, sameDtype } from "./_util.ts";
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
  /**
   * Rows and columns of the fast kernel's output block (tests, benchmarks); implies "fast". By
   * default 128 x 128 unless that gives too few blocks (see FAST_BLOCKS).
   */
  tile?: readonly [FastTile, FastTile];
  /**
   * Split the fast kernel's K into this many ranges summed after (tests, benchmarks; f32 out and
   * no batch); implies "fast". By default from the shape.
   */
  splitK?: number;
  /** Threads per matvec workgroup (tuning); by default from K. */
  matvecThreads?: 64 | 128 | 256;
}

export type FastTile = 64 | 128;

const TILE = 16;
const MAX_BATCH_DIMS = 4;
// Below this many rows or columns a 128 x 128 block is mostly idle; the small tiles win.
const FAST_MIN = 64;
// WebGPU tells nothing of the GPU's size (no SM count), so these are constants for a large GPU,
// chosen from a sweep of every block shape and split over a Qwen2-0.5B layer's prefill and LoRA
// products on a 132-SM H100 (BENCHMARKS.md, Matmul). From FAST_BLOCKS 128 x 128 blocks (about 1.5
// per SM) matmul_fast runs unsplit as before; below, each block side is 64 along a dimension of
// at most SMALL_SIDE, and K splits until blocks x splits reach FILL_BLOCKS (4 per SM), at most
// MAX_SPLITS ranges of at least MIN_SPLIT_K. A smaller GPU is filled sooner and pays only the
// partial sums' extra pass.
const FAST_BLOCKS = 200;
const SMALL_SIDE = 256;
const FILL_BLOCKS = 528;
const MIN_SPLIT_K = 192;
const MAX_SPLITS = 16;
// Multiply-adds under which a skinny product (a side under 64) stays on the tiled kernel.
const SKINNY_WORK = 1 << 22;

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

// LLAMAFORGE_DISABLE=matmul_flex (read once) or setMatmulFlex(false) keeps every fast product on
// 128 x 128 blocks without split-K and skinny ones on the tiled kernel, as before matmul_flex. Off
// by default on a CPU adapter: its few cores are busy with the 128 blocks already, and the smaller
// blocks and partial sums measured 10% to 2.4x slower on llvmpipe (bench/matmul.ts, 64 tokens).
let flexOn: boolean | null = null;

/** Turns the matmul_flex choices (small blocks, split-K) on or off; returns the previous state. */
export function setMatmulFlex(on: boolean): boolean {
  const was = flexEnabled();
  flexOn = on;
  return was;
}

function flexEnabled(): boolean {
  flexOn ??= !/llvmpipe|lavapipe|swiftshader/i.test(gpu().adapterName) &&
    !(Deno.env.get("LLAMAFORGE_DISABLE") ?? "").split(",").some((s) => s.trim() === "matmul_flex");
  return flexOn;
}

/** The kernel a matmul of these operands would run, and for the fast ones its block and splits. */
export interface MatmulChoice {
  kernel: "matvec" | "tiled" | "fast" | "flex";
  /** Output rows and columns per workgroup ("fast", "flex"). */
  tile?: [number, number];
  /** K ranges summed after (1: no split). */
  splits?: number;
}

/** Which kernel matmulRaw(a, b, opts) runs (tests, benchmarks); dispatches nothing. */
export function describeMatmul(a: Tensor, b: Tensor, opts: MatmulRawOptions = {}): MatmulChoice {
  const plan = planMatmul(a, b, opts);
  const type = b.dtype === "bf16" ? "f32" : kernelType("matmul", a);
  if (chooseMatvec(plan, opts)) return { kernel: "matvec" };
  if (!chooseFast(plan, opts)) return { kernel: "tiled" };
  const { tm, tn, kc } = fastShape(plan, opts, type === "f32");
  const flex = tm !== MATMUL_FAST_TILE || tn !== MATMUL_FAST_TILE || kc > 0;
  return {
    kernel: flex ? "flex" : "fast",
    tile: [tm, tn],
    splits: kc ? Math.ceil(plan.k / kc) : 1,
  };
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
  const shape = fast ? fastShape(plan, opts, type === "f32") : null;
  if (shape && (shape.tm !== MATMUL_FAST_TILE || shape.tn !== MATMUL_FAST_TILE || shape.kc)) {
    dispatchFlex(a, b, out, { plan, type, shape });
    return out;
  }
  const kernel = fast
    ? (bf16 ? matmulFastBf16 : matmulFast)
    : (bf16 ? matmulTiledBf16 : matmulTiled);
  const tile = fast ? MATMUL_FAST_TILE : TILE;
  const constants: Record<string, number> = {
    TRANS_A: opts.transA ? 1 : 0,
    TRANS_B: opts.transB ? 1 : 0,
  };
  if (!fast) constants.TILE = TILE;
  const total = numel(plan.batch);
  const maxZ = gpu().limits.maxComputeWorkgroupsPerDimension;
  for (let z0 = 0; z0 < total; z0 += maxZ) {
    gpu().dispatch(kernel, {
      type,
      constants,
      params: batchParams(plan, z0).bytes(),
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

function batchParams(plan: Plan, z0: number): Params {
  const pad = (xs: number[], fill: number) => [...Array(4 - xs.length).fill(fill), ...xs];
  return new Params()
    .u32(plan.m, plan.n, plan.k, z0)
    .vec4u(pad(plan.batch, 1), 1)
    .vec4u(pad(plan.aStrides, 0), 1)
    .vec4u(pad(plan.bStrides, 0), 1);
}

/** The fast kernel's output block and K per split (0: no split). */
interface FastShape {
  tm: FastTile;
  tn: FastTile;
  kc: number;
}

function fastShape(p: Plan, opts: MatmulRawOptions, f32Out: boolean): FastShape {
  const forced = opts.tile !== undefined || opts.splitK !== undefined;
  const canSplit = f32Out && p.batch.length === 0;
  if (opts.splitK !== undefined) {
    if (!Number.isInteger(opts.splitK) || opts.splitK < 1) {
      throw new RangeError(
        `Cannot split matmul K into ${opts.splitK} parts: expected an integer >= 1`,
      );
    }
    if (opts.splitK > 1 && !canSplit) {
      throw new RangeError(
        `Cannot split K of a matmul on M=${p.m}, N=${p.n}, K=${p.k}: split-K needs an f32 output and no batch dims`,
      );
    }
  }
  for (const t of opts.tile ?? []) {
    if (t !== 64 && t !== 128) {
      throw new RangeError(`Cannot run matmul_fast with a block side of ${t}: expected 64 or 128`);
    }
  }
  if (!forced && !flexEnabled()) return { tm: 128, tn: 128, kc: 0 };
  const nb = numel(p.batch);
  const blocks = (tm: number, tn: number) => Math.ceil(p.m / tm) * Math.ceil(p.n / tn) * nb;
  if (!opts.tile && opts.splitK === undefined && blocks(128, 128) >= FAST_BLOCKS) {
    return { tm: 128, tn: 128, kc: 0 };
  }
  // 64 along a short side: the 128 block would be mostly padding there, or too few.
  const side = (d: number): FastTile => d <= SMALL_SIDE ? 64 : 128;
  const [tm, tn] = opts.tile ?? [side(p.m), side(p.n)];
  let splits = opts.splitK ?? 1;
  if (opts.splitK === undefined && canSplit) {
    const want = Math.ceil(FILL_BLOCKS / blocks(tm, tn));
    splits = Math.max(1, Math.min(want, MAX_SPLITS, Math.floor(p.k / MIN_SPLIT_K)));
  }
  // K per split in whole 8-deep steps (the kernel's vec4 loads must not straddle two ranges).
  const kc = splits > 1 ? Math.ceil(p.k / splits / 8) * 8 : 0;
  return { tm, tn, kc: kc >= p.k ? 0 : kc };
}

function dispatchFlex(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  o: { plan: Plan; type: "f32" | "f16"; shape: FastShape },
): void {
  const { plan, shape: { tm, tn, kc } } = o;
  const kernel = b.dtype === "bf16" ? matmulFlexBf16 : matmulFlex;
  const constants = {
    TRANS_A: plan.transA ? 1 : 0,
    TRANS_B: plan.transB ? 1 : 0,
    TM: tm,
    TN: tn,
  };
  const xy = [Math.ceil(plan.n / tn), Math.ceil(plan.m / tm)];
  if (!kc) {
    const total = numel(plan.batch);
    const maxZ = gpu().limits.maxComputeWorkgroupsPerDimension;
    for (let z0 = 0; z0 < total; z0 += maxZ) {
      gpu().dispatch(kernel, {
        type: o.type,
        constants,
        params: batchParams(plan, z0).u32(0).bytes(),
        buffers: [a.buffer("matmul"), b.buffer("matmul"), out.buffer("matmul")],
        workgroups: [xy[0], xy[1], Math.min(maxZ, total - z0)],
      });
    }
    return;
  }
  // Partial sums [splits, M, N] in f32, then one pass sums them into out.
  const splits = Math.ceil(plan.k / kc);
  const parts = empty([splits, plan.m, plan.n], "f32");
  gpu().dispatch(kernel, {
    type: "f32",
    constants,
    params: batchParams(plan, 0).u32(kc).bytes(),
    buffers: [a.buffer("matmul"), b.buffer("matmul"), parts.buffer("matmul")],
    workgroups: [xy[0], xy[1], splits],
  });
  const mn = plan.m * plan.n;
  gpu().dispatch(reduceStrided, {
    type: "f32",
    constants: { OP: 0 },
    params: new Params().u32(1, splits, mn).f32(1).bytes(),
    buffers: [parts.buffer("matmul"), out.buffer("matmul")],
    workgroups: grid(groupsFor(mn), gpu().limits.maxComputeWorkgroupsPerDimension),
  });
  parts.release();
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
  const forced = opts.kernel === "fast" || opts.tile !== undefined || opts.splitK !== undefined;
  if (forced && opts.kernel && opts.kernel !== "fast") {
    throw new RangeError(`Cannot run the ${opts.kernel} kernel with a tile or splitK option`);
  }
  if (forced && !aligned) {
    throw new RangeError(
      `Cannot run matmul_fast on M=${p.m}, N=${p.n}, K=${p.k}: the contiguous dimensions must be multiples of 4`,
    );
  }
  if (forced) return true;
  if (opts.kernel) return false;
  if (!aligned) return false;
  if (p.m >= FAST_MIN && p.n >= FAST_MIN) return true;
  // A skinny product with long rows (LoRA's x A^T, dA, dB): the 64 block wastes most of its
  // columns yet beats the tiled kernel's 16 x 16 outputs by far once split.
  return flexEnabled() && p.m * p.n * p.k * numel(p.batch) >= SKINNY_WORK;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
