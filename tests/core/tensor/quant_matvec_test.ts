// The fused 4-bit matvec (kernels/matvec_q4*.wgsl): decoding through a QuantLinear multiplies
// straight from the NF4/FP4 codes. Against dequantize-then-matmul for odd shapes, with and without
// double quantization and subgroups; QuantLinear takes it for at most 8 rows only, keeps its input
// gradient, and a quantized tiny-llama's decode step gives the same logits either way.
import assert from "node:assert/strict";
import { KvCache } from "../../../core/model/kv_cache.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import * as T from "../../../core/tensor/mod.ts";
import { QuantLinear } from "../../../core/tensor/quant_linear.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { assertClose } from "../../_helpers/check_op.ts";

await T.initGpu();
const noSubgroups = (Deno.env.get("LLAMAFORGE_DISABLE") ?? "").includes("subgroups");
const CASES = [["nf4", false], ["fp4", false], ["nf4", true], ["fp4", true]] as const;
// [N, K]: odd N, K a multiple of 8 (one block, blocks straddling rows, a long row).
const SHAPES = [[33, 64], [7, 136], [5, 4864]];

/** The matvec_q4 kernel this device runs (the fallback without subgroups). */
function fusedKernel(): string {
  return T.gpu().has("subgroups") ? "matvec_q4" : "matvec_q4_shared";
}

function weights(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * 0.2);
}

/** Runs fn, returning the names of the kernels it dispatched. */
function kernelsOf(fn: () => void): string[] {
  const g = T.gpu(), ran: string[] = [], dispatch = g.dispatch;
  g.dispatch = function (kernel, opts) {
    ran.push(kernel.name);
    dispatch.call(this, kernel, opts);
  };
  try {
    fn();
  } finally {
    g.dispatch = dispatch;
  }
  return ran;
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

Deno.test("matvec_q4 equals dequantize-then-matmul for NF4 and FP4 on odd shapes", async () => {
  for (const [type, double] of CASES) {
    for (const [n, k] of SHAPES) {
      const lin = new QuantLinear(weights(n * k, n + k), [n, k], { bits: 4, type, double });
      for (const m of [1, 3, 8]) {
        const what = `${type}${double ? " double" : ""} M=${m} N=${n} K=${k}`;
        const x = T.randn([m, k], 1, { seed: m * 7 + k });
        let fused!: T.Tensor;
        const ran = kernelsOf(() => fused = T.quantMatvec(x, lin.tensors));
        assert.ok(ran.includes(fusedKernel()), what);
        assert.ok(!ran.includes("dequant_nf4"), `${what}: no dense temporary`);
        const want = T.scope(() =>
          T.matmulRaw(x, lin.dequantized(), { transB: true, kernel: "tiled" })
        );
        const w = await want.data();
        assert.ok(maxAbs(w) > 0.1, what);
        // Summation order only: 1e-5 of the output's scale (single values can cancel to ~0).
        assertClose(await fused.data(), w, 1e-5 * maxAbs(w), 1e-5, what);
        for (const t of [x, fused, want]) t.release();
      }
      lin.release();
    }
  }
});

Deno.test("QuantLinear takes matvec_q4 for at most 8 rows of 4-bit only, same gradient", async () => {
  const lin = (k: number, bits: 4 | 8) =>
    new QuantLinear(weights(9 * k, k), [9, k], { bits, double: false });
  const forward = (l: QuantLinear, rows: number) =>
    kernelsOf(() => T.noGrad(() => T.scope(() => l.forward(T.zeros([rows, l.inFeatures])))));
  const [l64, l12, l8] = [lin(64, 4), lin(12, 4), lin(64, 8)];
  const fk = fusedKernel();
  assert.deepEqual(forward(l64, 1).filter((k) => /matvec|dequant/.test(k)), [fk]);
  assert.ok(forward(l64, 8).includes(fk));
  assert.ok(!forward(l64, 9).includes(fk), "9 rows: dequantize + matmul");
  assert.ok(!forward(l12, 1).includes(fk), "K = 12 is not a multiple of 8");
  assert.ok(!forward(l8, 1).includes(fk), "8-bit stays on dequantize + matmul");
  const was = T.setQuantMatvec(false);
  try {
    assert.ok(!forward(l64, 1).includes(fk), "switched off");
  } finally {
    T.setQuantMatvec(was);
  }
  // The input gradient is unchanged by the fused forward (backward dequantizes either way).
  const grad = async (on: boolean) => {
    const prev = T.setQuantMatvec(on);
    const x = T.keep(T.randn([3, 64], 1, { seed: 3 }));
    x.requiresGrad = true;
    T.scope(() => T.backward(T.sum(T.mul(l64.forward(x), T.randn([3, 9], 1, { seed: 5 })))));
    T.setQuantMatvec(prev);
    const g = await x.grad!.data();
    x.grad!.release();
    x.release();
    return g;
  };
  assertClose(await grad(true), await grad(false), 1e-6, 1e-5, "input gradient");
  assert.throws(
    () => T.scope(() => T.quantMatvec(T.zeros([9, 64]), l64.tensors)),
    (e) =>
      e instanceof TypeError &&
      /Cannot run matvec_q4 on a tensor of shape \[9,64\]/.test(e.message),
  );
  for (const l of [l64, l12, l8]) l.release();
});

Deno.test("a 4-bit tiny-llama's decode step gives the same logits fused and unfused", async () => {
  const dir = new URL("../../../models/tiny-llama", import.meta.url).pathname;
  const { model } = await loadModel(dir, new Registry("model", modelFamilies), {
    quantization: { bits: 4, type: "nf4", double: true },
  });
  const prompts = [[5, 17, 300, 41, 7], [9, 1200, 3, 64, 2]];
  /** Last-position logits of one cached step after a prefill, and the kernels that step ran. */
  const step = async (rows: number[][]): Promise<[Float32Array, string[]]> => {
    const b = rows.length, t = rows[0].length;
    const cache = new KvCache(model.cfg, { batch: b, maxLen: t + 1 });
    const forward = (ids: number[], len: number, pos: number) =>
      T.noGrad(() =>
        T.scope(() => {
          const h = model.hidden(T.tensor(Int32Array.from(ids), [b, len], { dtype: "i32" }), {
            positions: T.tensor(Array.from({ length: len }, (_, i) => pos + i), [1, len], {
              dtype: "i32",
            }),
            cache,
          });
          return model.logits(h);
        })
      );
    forward(rows.flat(), t, 0).release();
    let y!: T.Tensor;
    const ran = kernelsOf(() => y = forward(rows.map((r) => r[1]), 1, t));
    cache.release();
    const out = await y.data() as Float32Array;
    y.release();
    return [out, ran];
  };
  try {
    for (const rows of [prompts.slice(0, 1), prompts]) {
      const was = T.setQuantMatvec(true);
      const [fused, ranFused] = await step(rows);
      T.setQuantMatvec(false);
      const [old, ranOld] = await step(rows);
      T.setQuantMatvec(was);
      // 7 quantized Linears per layer.
      const count = (ran: string[], k: string) => ran.filter((r) => r === k).length;
      assert.equal(count(ranFused, fusedKernel()), 7 * model.cfg.numLayers);
      assert.equal(count(ranFused, "dequant_nf4"), 0);
      assert.equal(count(ranOld, "dequant_nf4"), 7 * model.cfg.numLayers);
      assert.ok(fused.some((v) => v !== 0));
      assertClose(fused, old, 1e-4, 1e-4, `logits of ${rows.length} row(s)`);
    }
  } finally {
    model.release();
  }
});

Deno.test("matvec_q4 tests pass without subgroups (LLAMAFORGE_DISABLE=subgroups)", async () => {
  if (noSubgroups) return; // this is the inner run
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--quiet", "--filter", "/(equals|takes)/", import.meta.filename!],
    env: { LLAMAFORGE_DISABLE: "subgroups", XDG_RUNTIME_DIR: "/tmp", NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `run without subgroups failed:\n${text.slice(-3000)}`);
  assert.match(text, /ok \| 2 passed \| 0 failed/);
});
