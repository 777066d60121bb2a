// matmul_flex (64-wide blocks, split-K) against the CPU reference: each block shape and split
// forced through matmulRaw's `tile` / `splitK` options, f32 and bf16 b, every transposition; the
// default choice for model shapes; gradients through products that take it.
import assert from "node:assert/strict";
import * as T from "../../../core/tensor/mod.ts";
import * as C from "../../../core/tensor/cpu/mod.ts";
import { assertClose, checkOp, randomValues } from "../../_helpers/check_op.ts";

type Opts = { transA?: boolean; transB?: boolean };
const combos: Opts[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];
const label = (o: Opts) => `transA=${!!o.transA} transB=${!!o.transB}`;
const TILES: [T.FastTile, T.FastTile][] = [[64, 64], [128, 64], [64, 128], [128, 128]];

/** Stored operand shapes for op(a) [..., m, k] and op(b) [..., k, n]. */
function shapes(o: Opts, [m, k, n]: number[], aBatch: number[] = [], bBatch: number[] = []) {
  return [
    [...aBatch, ...(o.transA ? [k, m] : [m, k])],
    [...bBatch, ...(o.transB ? [n, k] : [k, n])],
  ];
}

/** Host values rounded to bf16 as the GPU stores them. */
function bf16Round(v: Float64Array): Float64Array {
  const h = T.fromHost(v, "bf16") as Uint16Array;
  return Float64Array.from(new Float32Array(Uint32Array.from(h, (x) => x << 16).buffer));
}

/** op(a) op(b) on the GPU with `run` against the reference; b rounded to bf16 when asked. */
async function compare(
  o: Opts,
  mkn: number[],
  run: T.MatmulRawOptions,
  extra: { batch?: number[]; bf16?: boolean; seed?: number } = {},
): Promise<void> {
  const [sa, sb] = shapes(o, mkn, extra.batch, extra.batch);
  const rng = new T.Rng(extra.seed ?? 7);
  const ha = randomValues({ shape: sa }, rng);
  const hb0 = randomValues({ shape: sb }, rng);
  const hb = extra.bf16 ? bf16Round(hb0) : hb0;
  const out = T.scope(() =>
    T.matmulRaw(T.tensor(ha, sa), T.tensor(hb, sb, { dtype: extra.bf16 ? "bf16" : "f32" }), {
      ...o,
      ...run,
    })
  );
  const want = C.matmul(C.cpuTensor(ha, sa), C.cpuTensor(hb, sb), o);
  assert.deepEqual([...out.shape], want.shape);
  const what = `${label(o)} [${mkn}] tile ${run.tile} splitK ${run.splitK}${
    extra.bf16 ? " bf16 b" : ""
  }`;
  assertClose(await out.data(), want.data, 1e-4, 1e-4, what);
  out.release();
}

Deno.test("matmul_flex matches the reference for every block shape and transposition", async () => {
  await T.initGpu();
  // 132 and 68 straddle both block sides; K = 36 ends mid 8-deep step; a batch of 2 on both.
  for (const o of combos) {
    for (const tile of TILES.slice(0, 3)) {
      await compare(o, [132, 36, 68], { tile, splitK: 1 }, { batch: [2] });
    }
  }
  // The 128 x 128 block through matmul_flex (split, so not matmul_fast) via checkOp.
  await checkOp({
    gpu: (x, y) => T.matmulRaw(x, y, { transB: true, tile: [128, 128], splitK: 2 }),
    cpu: (x, y) => C.matmul(x, y, { transB: true }),
    inputs: [[130, 24], [68, 24]],
    atol: 1e-4,
    forwardOnly: true,
  });
});

Deno.test("split-K sums uneven K ranges for every transposition", async () => {
  await T.initGpu();
  for (const o of combos) {
    // Odd M where a is K-contiguous; K = 100 in 3 ranges (40, 40, 20) and in 13 of 8.
    const mkn = o.transA ? [68, 100, 44] : [67, 100, 44];
    for (const [tile, splitK] of [[[64, 64], 3], [[128, 64], 16], [[64, 128], 2]] as const) {
      await compare(o, mkn, { tile: [...tile], splitK });
    }
  }
});

Deno.test("matmul_flex widens a bf16 b for every block shape, split or not", async () => {
  await T.initGpu();
  for (const o of combos) {
    const mkn = o.transA ? [72, 52, 132] : [71, 52, 132];
    await compare(o, mkn, { tile: [64, 64], splitK: 3 }, { bf16: true });
    await compare(o, mkn, { tile: [128, 64], splitK: 1 }, { bf16: true, batch: [2] });
    await compare(o, mkn, { tile: [64, 128], splitK: 2 }, { bf16: true, seed: 3 });
  }
});

Deno.test("matmul_flex computes f16 without split and refuses to split it", async () => {
  const g = await T.initGpu();
  if (g.has("shader-f16")) {
    const rng = new T.Rng(9);
    for (const o of combos) {
      const [sa, sb] = shapes(o, [68, 36, 132]);
      const ha = Float64Array.from(Float16Array.from(randomValues({ shape: sa }, rng)));
      const hb = Float64Array.from(Float16Array.from(randomValues({ shape: sb }, rng)));
      const out = T.scope(() =>
        T.matmulRaw(T.tensor(ha, sa, { dtype: "f16" }), T.tensor(hb, sb, { dtype: "f16" }), {
          ...o,
          tile: [64, 64],
        })
      );
      assert.equal(out.dtype, "f16");
      const want = C.matmul(C.cpuTensor(ha, sa), C.cpuTensor(hb, sb), o);
      assertClose(await out.data(), want.data, 1e-2, 2e-3, `f16 ${label(o)}`);
      out.release();
    }
  }
  T.scope(() => {
    const dt = g.has("shader-f16") ? "f16" : "f32";
    // f16 output, or (without shader-f16) a batched product: both keep K whole.
    const [a, b] = dt === "f16"
      ? [T.zeros([8, 16], "f16"), T.zeros([16, 8], "f16")]
      : [T.zeros([2, 8, 16]), T.zeros([2, 16, 8])];
    assert.throws(
      () => T.matmulRaw(a, b, { splitK: 2 }),
      (e) =>
        e instanceof RangeError && /split-K needs an f32 output and no batch dims/.test(e.message),
    );
  });
});

Deno.test("matmulRaw rejects bad tile and splitK options", async () => {
  await T.initGpu();
  T.scope(() => {
    const a = T.zeros([8, 16]), b = T.zeros([16, 8]);
    assert.throws(() => T.matmulRaw(a, b, { splitK: 0 }), /expected an integer >= 1/);
    assert.throws(
      () => T.matmulRaw(a, b, { tile: [32 as T.FastTile, 64] }),
      /block side of 32: expected 64 or 128/,
    );
    assert.throws(() => T.matmulRaw(a, b, { kernel: "tiled", splitK: 2 }), RangeError);
    // The fast kernels read 4 elements at a time along K here.
    assert.throws(
      () => T.matmulRaw(T.zeros([8, 6]), T.zeros([6, 8]), { tile: [64, 64] }),
      RangeError,
    );
  });
});

Deno.test("the default choice keeps 128 blocks for large products and splits few-block ones", async () => {
  await T.initGpu();
  const was = T.setMatmulFlex(true);
  try {
    T.scope(() => {
      const pick = (sa: number[], sb: number[], o: T.MatmulRawOptions = {}) =>
        T.describeMatmul(T.zeros(sa), T.zeros(sb), o);
      // Enough 128 x 128 blocks: matmul_fast as before.
      assert.deepEqual(pick([4096, 64], [64, 4096]), {
        kernel: "fast",
        tile: [128, 128],
        splits: 1,
      });
      // A 512-token prefill's q/o proj: 28 blocks of 128, K 896 in 4 ranges of 224.
      assert.deepEqual(pick([512, 896], [896, 896], { transB: true }), {
        kernel: "flex",
        tile: [128, 128],
        splits: 4,
      });
      // Its k/v proj (N = 128): 64 columns per block.
      assert.deepEqual(pick([512, 896], [128, 896], { transB: true }), {
        kernel: "flex",
        tile: [128, 64],
        splits: 4,
      });
      // 4096 tokens' q/o proj: 224 blocks of 128 keep matmul_fast.
      assert.deepEqual(pick([4096, 896], [896, 896], { transB: true }), {
        kernel: "fast",
        tile: [128, 128],
        splits: 1,
      });
      // LoRA's dA = du^T x, [8, 4096] x [4096, 896]: long K, 7 blocks, 16 ranges.
      assert.deepEqual(pick([4096, 8], [4096, 896], { transA: true }), {
        kernel: "flex",
        tile: [64, 128],
        splits: 16,
      });
      // A batch keeps K whole; small skinny products stay on the tiled kernel.
      assert.equal(pick([2, 512, 896], [2, 896, 896]).splits, 1);
      assert.deepEqual(pick([64, 32], [8, 32], { transB: true }), { kernel: "tiled" });
      T.setMatmulFlex(false);
      assert.deepEqual(pick([512, 896], [896, 896], { transB: true }), {
        kernel: "fast",
        tile: [128, 128],
        splits: 1,
      });
      assert.deepEqual(pick([4096, 896], [8, 896], { transB: true }), { kernel: "tiled" });
    });
  } finally {
    T.setMatmulFlex(was);
  }
});

Deno.test("gradients through LoRA-like products on matmul_flex match the analytic ones", async () => {
  await T.initGpu();
  const was = T.setMatmulFlex(true);
  try {
    const [t, k, n, r] = [1024, 512, 384, 8];
    const rng = new T.Rng(21);
    const hx = randomValues({ shape: [t, k] }, rng), ha = randomValues({ shape: [r, k] }, rng);
    const hb = randomValues({ shape: [n, r] }, rng),
      hw = bf16Round(randomValues({ shape: [n, k] }, rng));
    const hg = randomValues({ shape: [t, n] }, rng);
    const [dx, da, db] = T.scope(() => {
      const x = T.tensor(hx, [t, k], { requiresGrad: true });
      const a = T.tensor(ha, [r, k], { requiresGrad: true });
      const b = T.tensor(hb, [n, r], { requiresGrad: true });
      const w = T.tensor(hw, [n, k], { dtype: "bf16" });
      // The forward x A^T and the backward's dA (K = 1024) and dX = g W (bf16 W, K = 384) run
      // split on matmul_flex; check that they do, so the test covers it.
      assert.equal(T.describeMatmul(x, a, { transB: true }).kernel, "flex");
      assert.equal(T.describeMatmul(T.zeros([t, r]), x, { transA: true }).kernel, "flex");
      assert.equal(T.describeMatmul(T.zeros([t, n]), w).kernel, "flex");
      const u = T.matmul(x, a, { transB: true });
      const y = T.add(T.matmul(u, b, { transB: true }), T.matmul(x, w, { transB: true }));
      T.backward(y, T.tensor(hg, [t, n]));
      return [x.grad!, a.grad!, b.grad!];
    });
    const cx = C.cpuTensor(hx, [t, k]), ca = C.cpuTensor(ha, [r, k]);
    const cb = C.cpuTensor(hb, [n, r]), cw = C.cpuTensor(hw, [n, k]), cg = C.cpuTensor(hg, [t, n]);
    const cu = C.matmul(cx, ca, { transB: true });
    const cdu = C.matmul(cg, cb);
    const wantX = C.add(C.matmul(cdu, ca), C.matmul(cg, cw));
    assertClose(await dx.data(), wantX.data, 1e-3, 1e-3, "dX");
    assertClose(await da.data(), C.matmul(cdu, cx, { transA: true }).data, 1e-2, 1e-3, "dA");
    assertClose(await db.data(), C.matmul(cg, cu, { transA: true }).data, 1e-2, 1e-3, "dB");
    for (const g of [dx, da, db]) g.release();
  } finally {
    T.setMatmulFlex(was);
  }
});
