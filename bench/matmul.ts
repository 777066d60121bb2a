// Matmul throughput: GFLOP/s of square n^3 products for f32, f16 (when the adapter has it) and an
// f32 activation times a bf16 weight; then the decode products (at most 8 rows times a Linear
// weight) through the tiled kernel and through matvec; then a Qwen2-0.5B layer's prefill and LoRA
// training products before and after matmul_flex (small blocks, split-K), in one process.
// `--sweep` (or LLAMAFORGE_MATMUL_SWEEP=1) also times every block shape and split of each;
// `--shapes` runs only the model shapes, printing each line as it comes.
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
  return [...lines, ...await benchSmallM(cpu), ...await benchModelShapes(cpu)];
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

/** One product: op(a) [m, k] times op(b) [k, n], `count` of them per decoder layer. */
interface Product {
  what: string;
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  bf16?: boolean;
  count: number;
}

const HIDDEN = 896, KV = 128, INTER = 4864, RANK = 8;

/** A Qwen2-0.5B layer's products for t tokens: the forward, then (training) dX and LoRA r = 8. */
function layerProducts(t: number, training: boolean): Product[] {
  const fwd: Product[] = [
    { what: "q/o proj x W^T", m: t, k: HIDDEN, n: HIDDEN, transB: true, count: 2 },
    { what: "k/v proj x W^T", m: t, k: HIDDEN, n: KV, transB: true, count: 2 },
    { what: "gate/up x W^T", m: t, k: HIDDEN, n: INTER, transB: true, count: 2 },
    { what: "down x W^T", m: t, k: INTER, n: HIDDEN, transB: true, count: 1 },
  ];
  if (!training) {
    return [...fwd, {
      what: "q/o proj x W^T, bf16 W",
      m: t,
      k: HIDDEN,
      n: HIDDEN,
      transB: true,
      bf16: true,
      count: 0,
    }];
  }
  const out: Product[] = [...fwd];
  // dX = dY W for every frozen weight (W [N, K] as stored).
  for (const f of fwd) {
    out.push({ ...f, what: f.what.replace("x W^T", "dX = dY W"), k: f.n, n: f.k, transB: false });
  }
  // LoRA per module (in K, out N): u = x A^T, y += u B^T; du = dY B, dB = dY^T u, dA = du^T x,
  // dX += du A. Counts: in 896 for six modules, 4864 for down; out 896 (q, o, down), 128 (k, v),
  // 4864 (gate, up).
  const ins: [number, number][] = [[HIDDEN, 6], [INTER, 1]];
  const outs: [number, number][] = [[HIDDEN, 3], [KV, 2], [INTER, 2]];
  for (const [k, count] of ins) {
    out.push({ what: `LoRA x A^T (in ${k})`, m: t, k, n: RANK, transB: true, count });
    out.push({ what: `LoRA dA = du^T x (in ${k})`, m: RANK, k: t, n: k, transA: true, count });
    out.push({ what: `LoRA dX += du A (in ${k})`, m: t, k: RANK, n: k, count });
  }
  for (const [n, count] of outs) {
    out.push({ what: `LoRA u B^T (out ${n})`, m: t, k: RANK, n, transB: true, count });
    out.push({ what: `LoRA du = dY B (out ${n})`, m: t, k: n, n: RANK, count });
    out.push({ what: `LoRA dB = dY^T u (out ${n})`, m: n, k: t, n: RANK, transA: true, count });
  }
  return out;
}

type Variant = Pick<T.MatmulRawOptions, "tile" | "splitK">;

function sweepVariants(p: Product): Variant[] {
  const vs: Variant[] = [];
  const tiles: [T.FastTile, T.FastTile][] = [[128, 128], [128, 64], [64, 128], [64, 64]];
  for (const tile of tiles) {
    const blocks = Math.ceil(p.m / tile[0]) * Math.ceil(p.n / tile[1]);
    for (const splitK of [1, 2, 4, 8, 16]) {
      // Splits past two waves of blocks, or of under 128 K each, are not worth a timing.
      if (splitK > 1 && (p.k / splitK < 128 || blocks * splitK / 2 >= 528)) continue;
      vs.push({ tile, splitK });
    }
  }
  return vs;
}

const vlabel = (v: Variant) => `${v.tile!.join("x")}/${v.splitK}`;
const clabel = (c: T.MatmulChoice) =>
  c.tile
    ? `${c.kernel} ${c.tile.join("x")}${(c.splits ?? 1) > 1 ? ` /${c.splits}` : ""}`
    : c.kernel;

/** GPU seconds per run from one difference of syncs after 2r and r runs (sweeps: quick, noisier). */
async function quickSecondsPer(fn: () => void, reps: number): Promise<number> {
  await timeGpu(fn, 1, 1);
  const once = async (r: number) => {
    for (let i = 0; i < r; i++) fn();
    const t0 = performance.now();
    await T.gpu().sync();
    return (performance.now() - t0) / 1000;
  };
  const t1 = await once(reps), t2 = await once(2 * reps);
  return t2 > t1 ? (t2 - t1) / reps : t2 / (2 * reps);
}

/** Each product before matmul_flex (setMatmulFlex(false)) and after, GPU time only. */
async function benchModelShapes(
  cpu: boolean,
  onLine: (line: string) => void = () => {},
): Promise<string[]> {
  const sweep = Deno.args.includes("--sweep") || Deno.env.get("LLAMAFORGE_MATMUL_SWEEP") === "1";
  const cases: [string, number, boolean][] = cpu
    ? [["prefill", 64, false]]
    : [["prefill", 512, false], ["LoRA training", 4096, true]];
  const lines: string[] = [];
  const flexWas = T.setMatmulFlex(true);
  try {
    for (const [name, t, training] of cases) {
      const sums = [0, 0];
      for (const p of layerProducts(t, training)) {
        const sa = p.transA ? [p.k, p.m] : [p.m, p.k], sb = p.transB ? [p.n, p.k] : [p.k, p.n];
        const bytes = (p.m * p.k + p.k * p.n * (p.bf16 ? 0.5 : 1) + p.m * p.n) * 4;
        // Operands in rotation past the 50 MB L2, as a layer's products meet them.
        const copies = Math.min(8, Math.ceil(128e6 / bytes));
        const xs = Array.from({ length: copies }, (_, i) => T.randn(sa, 1, { seed: 2 * i }));
        const ws = Array.from(
          { length: copies },
          (_, i) => T.randn(sb, 1, { seed: 2 * i + 1, dtype: p.bf16 ? "bf16" : "f32" }),
        );
        const flop = 2 * p.m * p.n * p.k;
        // About 2 ms of GPU per timing at the slower of 10 TFLOP/s and 1 TB/s.
        const est = Math.max(flop / 1e13, bytes / 1e12, 5e-6);
        const reps = cpu ? 2 : Math.max(10, Math.min(100, Math.round(1.5e-3 / est)));
        const base = { transA: p.transA, transB: p.transB };
        const time = async (o: T.MatmulRawOptions, quick = false) => {
          let i = 0;
          const fn = () => T.scope(() => void T.matmulRaw(xs[i % copies], ws[i++ % copies], o));
          return quick
            ? await quickSecondsPer(fn, Math.min(reps, 40))
            : (await gpuSecondsPer(fn, reps))[0];
        };
        T.setMatmulFlex(false);
        const before = await time(base);
        const cBefore = T.describeMatmul(xs[0], ws[0], base);
        T.setMatmulFlex(true);
        const after = await time(base);
        const cAfter = T.describeMatmul(xs[0], ws[0], base);
        sums[0] += p.count * before;
        sums[1] += p.count * after;
        const tf = (s: number) => (flop / s / 1e12).toFixed(1);
        let line = `${name} ${p.what} [${p.m}, ${p.k}] x [${p.k}, ${p.n}]${
          p.transA ? " transA" : ""
        }${p.transB ? " transB" : ""}: before ${(before * 1e3).toFixed(4)} ms (${
          clabel(cBefore)
        }, ${tf(before)} TFLOP/s), after ${(after * 1e3).toFixed(4)} ms (${clabel(cAfter)}, ${
          tf(after)
        } TFLOP/s)`;
        if (sweep && !cpu && !p.bf16) {
          const row: string[] = [];
          for (const v of sweepVariants(p)) {
            row.push(`${vlabel(v)} ${((await time({ ...base, ...v }, true)) * 1e3).toFixed(4)}`);
          }
          line += `\n  sweep (ms): ${row.join(", ")}`;
        }
        lines.push(line);
        onLine(line);
        for (const x of [...xs, ...ws]) x.release();
      }
      lines.push(
        `${name} ${t} tokens: these products for one layer ${(sums[0] * 1e3).toFixed(3)} -> ${
          (sums[1] * 1e3).toFixed(3)
        } ms, x24 layers ${(sums[0] * 24e3).toFixed(1)} -> ${(sums[1] * 24e3).toFixed(1)} ms`,
      );
      onLine(lines[lines.length - 1]);
    }
  } finally {
    T.setMatmulFlex(flexWas);
  }
  return lines;
}

if (import.meta.main) {
  if (Deno.args.includes("--shapes")) {
    await T.initGpu();
    console.log(`adapter: ${T.gpu().adapterName}`);
    await benchModelShapes(isCpuAdapter(), (line) => console.log(line));
  } else console.log((await benchMatmul()).join("\n"));
}
