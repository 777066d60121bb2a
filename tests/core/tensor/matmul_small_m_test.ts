// The matvec kernels (at most 8 rows times a transposed weight, the products of KV-cached
// decoding): against the CPU reference for odd shapes and every weight dtype, with and without
// subgroups, and a decode step's logits against the tiled path.
import assert from "node:assert/strict";
import { KvCache } from "../../../core/model/kv_cache.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import * as C from "../../../core/tensor/cpu/mod.ts";
import * as T from "../../../core/tensor/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { assertClose, checkOp, randomValues } from "../../_helpers/check_op.ts";

const MS = [1, 3, 8], KS = [17, 65, 896], NS = [1, 33, 257];
const noSubgroups = (Deno.env.get("LLAMAFORGE_DISABLE") ?? "").includes("subgroups");

/** The matvec kernel this device runs (the fallback without subgroups). */
function expectedKernel(): string {
  return T.gpu().has("subgroups") ? "matvec" : "matvec_shared";
}

/** Host values rounded to what a tensor of `dtype` stores. */
function rounded(v: Float64Array, dtype: "f16" | "bf16"): Float64Array {
  if (dtype === "f16") return Float64Array.from(Float16Array.from(v));
  const h = T.fromHost(v, "bf16") as Uint16Array;
  return Float64Array.from(new Float32Array(Uint32Array.from(h, (x) => x << 16).buffer));
}

Deno.test("matvec matches the reference for odd shapes (f32)", async () => {
  for (const m of MS) {
    for (const k of KS) {
      for (const n of NS) {
        await checkOp({
          gpu: (x, w) => T.matmulRaw(x, w, { transB: true, kernel: "matvec" }),
          cpu: (x, w) => C.matmul(x, w, { transB: true }),
          inputs: [[m, k], [n, k]],
          atol: 1e-3,
          forwardOnly: true,
        }).catch((e) => {
          throw new Error(`M=${m} K=${k} N=${n}: ${e.message}`);
        });
      }
    }
  }
  assert.ok(T.gpu().compiledKernels().includes(expectedKernel()));
});

Deno.test("matvec widens f16 and bf16 weights in-kernel", async () => {
  const g = await T.initGpu();
  const rng = new T.Rng(21);
  // f16 weights come with f16 activations and give f16; bf16 weights take f32 activations.
  const cases = (g.has("shader-f16") ? ["f16", "bf16"] : ["bf16"]) as ("f16" | "bf16")[];
  for (const dtype of cases) {
    for (const m of MS) {
      for (const k of KS) {
        for (const n of NS) {
          const ad = dtype === "f16" ? "f16" : "f32";
          const hx = randomValues({ shape: [m, k] }, rng);
          const hw = rounded(randomValues({ shape: [n, k] }, rng), dtype);
          const x = ad === "f16" ? rounded(hx, "f16") : hx;
          const out = T.scope(() =>
            T.matmulRaw(T.tensor(x, [m, k], { dtype: ad }), T.tensor(hw, [n, k], { dtype }), {
              transB: true,
              kernel: "matvec",
            })
          );
          assert.equal(out.dtype, ad);
          const want = C.matmul(C.cpuTensor(x, [m, k]), C.cpuTensor(hw, [n, k]), { transB: true });
          // f16 output: half an ulp relative plus slack; f32: summation order only.
          const [atol, rtol] = dtype === "f16" ? [1e-2, 2e-3] : [1e-3, 1e-4];
          assertClose(await out.data(), want.data, atol, rtol, `${dtype} M=${m} K=${k} N=${n}`);
          out.release();
        }
      }
    }
  }
});

Deno.test("matvec gives the same result for every workgroup size", async () => {
  for (const threads of [64, 128, 256] as const) {
    for (const [m, k, n] of [[3, 2049, 9], [8, 4096, 5]]) {
      await checkOp({
        gpu: (x, w) =>
          T.matmulRaw(x, w, { transB: true, kernel: "matvec", matvecThreads: threads }),
        cpu: (x, w) => C.matmul(x, w, { transB: true }),
        inputs: [[m, k], [n, k]],
        atol: 2e-3,
        forwardOnly: true,
      }).catch((e) => {
        throw new Error(`${threads} threads, M=${m} K=${k} N=${n}: ${e.message}`);
      });
    }
  }
});

Deno.test("matmul() takes matvec for at most 8 rows times a transposed b only", async () => {
  const g = await T.initGpu();
  const ran: string[] = [];
  const dispatch = g.dispatch;
  g.dispatch = function (kernel, opts) {
    if (/^mat(mul|vec)/.test(kernel.name)) ran.push(kernel.name);
    dispatch.call(this, kernel, opts);
  };
  /** The one kernel a matmul of these stored shapes runs. */
  const kernelOf = (sa: number[], sb: number[], o: T.MatmulOptions = {}): string => {
    ran.length = 0;
    T.scope(() => T.matmul(T.zeros(sa), T.zeros(sb), o));
    assert.equal(ran.length, 1);
    return ran[0];
  };
  const mv = expectedKernel(), tB = { transB: true };
  try {
    assert.equal(kernelOf([2, 4, 5], [7, 5], tB), mv, "batch folded into M = 8");
    assert.equal(kernelOf([1, 5], [1, 7, 5], tB), mv, "b with a batch of 1");
    assert.equal(kernelOf([9, 5], [7, 5], tB), "matmul_tiled", "M = 9");
    assert.equal(kernelOf([3, 5], [5, 7]), "matmul_tiled", "b not transposed");
    assert.equal(kernelOf([5, 3], [7, 5], { transA: true, transB: true }), "matmul_tiled");
    assert.equal(kernelOf([2, 3, 5], [2, 7, 5], tB), "matmul_tiled", "batched b");
    const was = T.setMatvec(false);
    try {
      assert.equal(kernelOf([1, 5], [7, 5], tB), "matmul_tiled", "switched off");
    } finally {
      T.setMatvec(was);
    }
  } finally {
    g.dispatch = dispatch;
  }
  const force = (sa: number[], sb: number[], o: T.MatmulOptions) =>
    T.scope(() => T.matmulRaw(T.zeros(sa), T.zeros(sb), { ...o, kernel: "matvec" }));
  assert.throws(
    () => force([9, 5], [7, 5], tB),
    (e) =>
      e instanceof RangeError &&
      /Cannot run matvec on M=9, N=7, K=5: it needs 1 to 8/.test(e.message),
  );
  assert.throws(() => force([3, 5], [5, 7], {}), /without transB/);
});

Deno.test("matmul() keeps its gradients when the forward takes matvec", async () => {
  // The backward products run the existing kernels; finite differences check them end to end.
  for (const [m, k, n] of [[1, 17, 3], [3, 9, 33]]) {
    await checkOp({
      gpu: (x, w) => T.matmul(x, w, { transB: true }),
      cpu: (x, w) => C.matmul(x, w, { transB: true }),
      inputs: [[m, k], [n, k]],
      atol: 1e-4,
    });
  }
});

Deno.test("a decode step's logits are unchanged by the matvec path", async () => {
  await T.initGpu();
  const dir = new URL("../../../models/tiny-llama", import.meta.url).pathname;
  const { model } = await loadModel(dir, new Registry("model", modelFamilies));
  const prompts = [[5, 17, 300, 41, 7], [9, 1200, 3, 64, 2]];
  /** Last-position logits of one cached step after a prefill, for `rows` prompts at once. */
  const step = async (rows: number[][]): Promise<Float32Array> => {
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
    const y = forward(rows.map((r) => r[1]), 1, t);
    cache.release();
    const out = await y.data() as Float32Array;
    y.release();
    return out;
  };
  try {
    for (const rows of [prompts.slice(0, 1), prompts]) {
      const was = T.setMatvec(true);
      const d0 = T.gpu().dispatchCount;
      const fresh = await step(rows);
      T.setMatvec(false);
      const old = await step(rows);
      T.setMatvec(was);
      assert.ok(T.gpu().dispatchCount > d0);
      assert.ok(T.gpu().compiledKernels().includes(expectedKernel()));
      assert.ok(fresh.some((v) => v !== 0));
      assertClose(fresh, old, 1e-4, 1e-4, `logits of ${rows.length} row(s)`);
    }
  } finally {
    model.release();
  }
});

Deno.test("matvec tests pass without subgroups (LLAMAFORGE_DISABLE=subgroups)", async () => {
  if (noSubgroups) return; // this is the inner run
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--quiet", "--filter", "/matvec (matches|widens)/", import.meta.filename!],
    env: { LLAMAFORGE_DISABLE: "subgroups", XDG_RUNTIME_DIR: "/tmp", NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `run without subgroups failed:\n${text.slice(-3000)}`);
  assert.match(text, /ok \| 2 passed \| 0 failed/);
});
