// Matmul throughput: GFLOP/s of square n^3 products for f32, f16 (when the adapter has it) and an
// f32 activation times a bf16 weight; then the decode products (at most 8 rows times a Linear
// weight) through the tiled kernel and through matvec.
import * as T from "../core/tensor/mod.ts";
import { isCpuAdapter, timeGpu } from "./_timing.ts";

/**
 * Seconds per run of fn: the difference between timings of 2r and r runs cancels the fixed cost of
 * the sync (about 11 ms); the median of three such differences tames clock ramps and jitter.
 */
async function secondsPer(fn: () => void, reps: number): Promise<number> {
  await timeGpu(fn, reps, 2);
  const est: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t1 = await timeGpu(fn, reps, 0);
    const t2 = await timeGpu(fn, 2 * reps, 0);
    est.push(2 * t2 - t1 > 0 ? 2 * t2 - t1 : t2);
  }
  return est.sort((x, y) => x - y)[1];
}

export async function benchMatmul(): Promise<string[]> {
  await T.initGpu();
  const cpu = isCpuAdapter();
  const sizes = cpu ? [256, 512] : [1024, 2048, 4096];
  const cases: [string, T.DType, T.DType][] = [["f32", "f32", "f32"]];
  if (T.gpu().has("shader-f16")) cases.push(["f16", "f16", "f16"]);
  // Frozen checkpoint weights: an f32 activation times a bf16 weight read as [N, K] (transB).
  cases.push(["f32 x bf16^T", "f32", "bf16"]);
  const lines = [`adapter: ${T.gpu().adapterName}`];
  for (const [name, da, db] of cases) {
    for (const n of sizes) {
      const flop = 2 * n ** 3;
      // About 0.1 s of GPU work per timing at 25 TFLOP/s, a few runs on the CPU adapter.
      const reps = cpu ? 2 : Math.max(5, Math.round(2.5e12 / flop));
      const a = T.randn([n, n], 1, { dtype: da, seed: 1 });
      const b = T.randn([n, n], 1, { dtype: db, seed: 2 });
      const opts = { transB: db === "bf16" };
      const s = await secondsPer(() => T.scope(() => void T.matmul(a, b, opts)), reps);
      a.release();
      b.release();
      lines.push(
        `matmul ${name} ${n}^3: ${(s * 1e3).toFixed(3)} ms, ${(flop / s / 1e9).toFixed(0)} GFLOP/s`,
      );
    }
  }
  return [...lines, ...await benchSmallM(cpu)];
}

/**
 * GPU seconds per run and CPU seconds to record it: the recording loop is timed apart from the
 * sync, and the difference between syncs after 2r and r runs cancels the read-back. A decode
 * product takes a few microseconds of GPU, less than recording its dispatch costs.
 */
async function gpuSecondsPer(fn: () => void, reps: number): Promise<[number, number]> {
  await timeGpu(fn, 2, 2);
  const once = async (r: number) => {
    const t0 = performance.now();
    for (let i = 0; i < r; i++) fn();
    const t1 = performance.now();
    await T.gpu().sync();
    return [(performance.now() - t1) / 1000, (t1 - t0) / 1000 / r];
  };
  const gpuEst: number[] = [], record: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [g1, c1] = await once(reps), [g2, c2] = await once(2 * reps);
    gpuEst.push(g2 - g1 > 0 ? (g2 - g1) / reps : g2 / (2 * reps));
    record.push(c1, c2);
  }
  const med = (xs: number[]) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return [med(gpuEst), med(record)];
}

/** x [m, k] times W^T, W [n, k] (a Linear's weight): tiled against matvec. */
async function benchSmallM(cpu: boolean): Promise<string[]> {
  const shapes: [number, number, number, T.DType, string][] = cpu
    ? [[1, 896, 1024, "f32", "decode"], [8, 896, 1024, "f32", "batch 8"]]
    : [
      [1, 896, 896, "f32", "q/o proj"],
      [1, 896, 4864, "f32", "MLP up"],
      [1, 896, 4864, "bf16", "MLP up, bf16 W"],
      [1, 4864, 896, "f32", "MLP down"],
      [8, 896, 4864, "f32", "MLP up, batch 8"],
      [1, 896, 151936, "f32", "LM head"],
    ];
  const lines: string[] = [];
  for (const [m, k, n, dt, what] of shapes) {
    const bytes = n * k * (dt === "f32" ? 4 : 2);
    // Weights in rotation past the 50 MB L2, as decoding streams them; one for the LM head.
    const copies = Math.min(16, Math.ceil(128e6 / bytes));
    const x = T.randn([m, k], 1, { seed: 1 });
    const ws = Array.from({ length: copies }, (_, i) => T.randn([n, k], 1, { dtype: dt, seed: i }));
    const row: string[] = [];
    for (const kernel of ["tiled", "matvec"] as const) {
      let i = 0;
      const fn = () =>
        T.scope(() => void T.matmulRaw(x, ws[i++ % copies], { transB: true, kernel }));
      // About 30 ms of GPU work per timing (tiled runs near 0.1 GB/ms, matvec 1 GB/ms and up).
      const perRun = bytes / (kernel === "tiled" ? 1e11 : 1e12);
      const reps = cpu ? 2 : Math.max(20, Math.min(3000, Math.round(0.03 / perRun)));
      const [g, c] = await gpuSecondsPer(fn, reps);
      row.push(
        `${kernel} ${(g * 1e3).toFixed(4)} ms GPU (${(bytes / g / 1e9).toFixed(0)} GB/s), ` +
          `${(c * 1e6).toFixed(0)} us to record`,
      );
    }
    x.release();
    for (const w of ws) w.release();
    lines.push(`matmul x [${m}, ${k}] W^T [${n}, ${k}] ${dt} (${what}): ${row.join("; ")}`);
  }
  return lines;
}

if (import.meta.main) console.log((await benchMatmul()).join("\n"));
