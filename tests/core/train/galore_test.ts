// GaloreAdamW against a host restatement of galore_torch's GaLoreAdamW (std projection), in f64:
// a tall weight (right projection), a wide one (left projection) and a plain bias, with the
// projection renewed every 2 steps; then a save/load round trip continues identically.
import assert from "node:assert/strict";
import { svd } from "../../../core/method/svd.ts";
import * as T from "../../../core/tensor/mod.ts";
import { GaloreAdamW } from "../../../core/train/galore.ts";
import { assertClose } from "../../_helpers/check_op.ts";

await T.initGpu();

const [b1, b2, eps, lr, wd, rank, interval, galoreScale] = [0.9, 0.99, 1e-8, 0.05, 0.1, 2, 2, 2];
const shapes = [[6, 4], [3, 5], [4]];

function rand(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

/** galore_torch's step for one parameter, on the host. */
class HostParam {
  m: Float64Array | null = null;
  v: Float64Array | null = null;
  proj: Float64Array | null = null;
  step = 0;
  constructor(public p: Float64Array, readonly shape: number[]) {}

  update(g: Float64Array) {
    const galore = this.shape.length === 2, [rows, cols] = this.shape;
    const right = galore && rows >= cols;
    let r = g, rr = 0, rc = 0;
    if (galore) {
      if (this.step % interval === 0) {
        const d = svd({ data: g, rows, cols });
        this.proj = right
          ? d.vt.data.slice(0, rank * cols)
          : Float64Array.from({ length: rows * rank }, (_, k) =>
            d.u.data[Math.floor(k / rank) * d.u.cols + k % rank]);
      }
      [rr, rc] = right ? [rows, rank] : [rank, cols];
      r = new Float64Array(rr * rc);
      for (let i = 0; i < rr; i++) {
        for (let j = 0; j < rc; j++) {
          let s = 0;
          if (right) {
            for (let k = 0; k < cols; k++) s += g[i * cols + k] * this.proj![j * cols + k];
          } else for (let k = 0; k < rows; k++) s += this.proj![k * rank + i] * g[k * cols + j];
          r[i * rc + j] = s;
        }
      }
    }
    this.step++;
    this.m ??= new Float64Array(r.length);
    this.v ??= new Float64Array(r.length);
    const n = r.map((x, i) => {
      this.m![i] = b1 * this.m![i] + (1 - b1) * x;
      this.v![i] = b2 * this.v![i] + (1 - b2) * x * x;
      return this.m![i] / (Math.sqrt(this.v![i]) + eps);
    });
    let full = n;
    if (galore) {
      full = new Float64Array(rows * cols);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let s = 0;
          if (right) {
            for (let k = 0; k < rank; k++) s += n[i * rank + k] * this.proj![k * cols + j];
          } else for (let k = 0; k < rank; k++) s += this.proj![i * rank + k] * n[k * cols + j];
          full[i * cols + j] = s * galoreScale;
        }
      }
    }
    const stepSize = lr * Math.sqrt(1 - b2 ** this.step) / (1 - b1 ** this.step);
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] -= stepSize * full[i];
      this.p[i] -= lr * wd * this.p[i];
    }
  }
}

function make() {
  const params = shapes.map((s, i) =>
    T.keep(T.tensor(rand(s.reduce((a, b) => a * b), 10 + i), s, { requiresGrad: true }))
  );
  const galore = new Map(
    params.slice(0, 2).map((p) => [p, { rank, updateInterval: interval, scale: galoreScale }]),
  );
  const opt = new GaloreAdamW([{ params, weightDecay: wd }], galore, {
    lr,
    betas: [b1, b2],
    eps,
    weightDecay: wd,
  });
  return { params, opt };
}

async function step(params: T.Tensor[], opt: GaloreAdamW, t: number): Promise<Float64Array[]> {
  const grads = params.map((p, i) => {
    const g = rand(p.size, 100 * t + i);
    p.grad = T.tensor(g, p.shape);
    return Float64Array.from(g);
  });
  await opt.prepare();
  T.scope(() => opt.step());
  opt.zeroGrad();
  return grads;
}

Deno.test("GaloreAdamW follows galore_torch: projected Adam, renewed projections, decay after", async () => {
  const { params, opt } = make();
  const host = await Promise.all(
    params.map(async (p, i) => new HostParam(Float64Array.from(await p.data()), shapes[i])),
  );
  for (let t = 0; t < 5; t++) {
    const grads = await step(params, opt, t);
    host.forEach((h, i) => h.update(grads[i]));
  }
  for (const [i, p] of params.entries()) {
    assertClose(await p.data(), host[i].p, 1e-5, 1e-4, `parameter ${i} after 5 steps`);
  }
  // The projected weights moved within rank-2 updates: their slots are low-rank.
  const state = await opt.state();
  assert.deepEqual(state.params.map((s) => s.slots.exp_avg.length), [6 * rank, rank * 5, 4]);
  assert.deepEqual(state.params.map((s) => s.slots.projector?.length), [
    rank * 4,
    3 * rank,
    undefined,
  ]);
  opt.release();
  params.forEach((p) => p.release());
});

Deno.test("GaloreAdamW state saved after 3 steps continues exactly as without the save", async () => {
  // Two identical runs; the second one's optimizer is replaced by a fresh one loading the first's
  // state after step 3, then both take steps 3 and 4 (step 4 renews the projections).
  const a = make(), b = make();
  for (let t = 0; t < 3; t++) {
    await step(a.params, a.opt, t);
    await step(b.params, b.opt, t);
  }
  const saved = await a.opt.state();
  b.opt.release();
  const fresh = new GaloreAdamW(
    [{ params: b.params, weightDecay: wd }],
    new Map(
      b.params.slice(0, 2).map((p) => [p, { rank, updateInterval: interval, scale: galoreScale }]),
    ),
    { lr, betas: [b1, b2], eps, weightDecay: wd },
  );
  fresh.loadState(saved);
  for (let t = 3; t < 5; t++) {
    await step(a.params, a.opt, t);
    await step(b.params, fresh, t);
  }
  for (const [i, p] of a.params.entries()) {
    assert.deepEqual([...await b.params[i].data()], [...await p.data()], `parameter ${i}`);
  }
  const bad = {
    ...saved,
    params: saved.params.map((s) => ({
      ...s,
      slots: { ...s.slots, projector: new Float32Array(1) },
    })),
  };
  assert.throws(() => fresh.loadState(bad), /slot "projector" of 1 values .* holds 8/);
  for (const o of [a.opt, fresh]) o.release();
  for (const p of [...a.params, ...b.params]) p.release();
});
