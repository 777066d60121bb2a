import assert from "node:assert/strict";
import * as T from "../../../core/tensor/mod.ts";
import { bucketOf } from "../../../core/tensor/pool.ts";

async function runScript(code: string, env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env: { XDG_RUNTIME_DIR: "/tmp", ...env },
    cwd: new URL("../../../", import.meta.url).pathname,
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("LLAMAFORGE_DISABLE hides shader-f16 and subgroups from the device", async () => {
  const code = `import { initGpu } from "./core/tensor/mod.ts";
    const g = await initGpu(); console.log(JSON.stringify([...g.features]));`;
  const masked = JSON.parse(await runScript(code, { LLAMAFORGE_DISABLE: "shader-f16,subgroups" }));
  assert.ok(!masked.includes("shader-f16") && !masked.includes("subgroups"), `got ${masked}`);
  const g = await T.initGpu();
  const full = JSON.parse(await runScript(code));
  assert.deepEqual(full.sort(), [...g.features].sort(), "unmasked run sees the same features");
});

Deno.test({
  name:
    "on Linux the device comes from Vulkan alone, so libEGL (which can crash at exit) stays out",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const code = `import { initGpu } from "./core/tensor/mod.ts"; await initGpu();
      const maps = Deno.readTextFileSync("/proc/self/maps");
      console.log(JSON.stringify([Deno.env.get("DENO_WEBGPU_BACKEND"), maps.includes("libEGL")]));`;
    // This process has set the variable already and children inherit it; empty counts as unset.
    const env = { DENO_WEBGPU_BACKEND: "" };
    assert.deepEqual(JSON.parse(await runScript(code, env)), ["vulkan", false]);
    // A backend list the user chose is kept, and with GL in it libEGL is loaded: the check can fail.
    const chosen = JSON.parse(await runScript(code, { DENO_WEBGPU_BACKEND: "vulkan,gl" }));
    assert.deepEqual(chosen, ["vulkan,gl", true]);
  },
});

Deno.test("an f16 tensor op on an adapter without shader-f16 fails naming the feature", async () => {
  const code = `import * as T from "./core/tensor/mod.ts"; await T.initGpu();
    try { T.exp(T.tensor([1, 2], [2], { dtype: "f16" })); console.log("no error"); }
    catch (e) { console.log(e.message); }`;
  const msg = await runScript(code, { LLAMAFORGE_DISABLE: "shader-f16" });
  assert.match(msg, /lacks "shader-f16"/);
});

Deno.test("pool buckets round sizes up and recycle released buffers", async () => {
  const g = await T.initGpu();
  assert.equal(bucketOf(1), 256);
  assert.equal(bucketOf(4097), 4608);
  assert.ok(bucketOf(1_000_000) >= 1_000_000 && bucketOf(1_000_000) < 1_000_000 * 1.13);
  const a = T.empty([1000]);
  const held = g.pool.bytesHeld;
  a.release();
  const b = T.empty([1000]);
  assert.equal(g.pool.bytesHeld, held, "the released buffer was reused, nothing new allocated");
  b.release();
});

Deno.test("dispatch rejects a wrong buffer count naming the kernel", async () => {
  const g = await T.initGpu();
  const { unary } = await import("../../../kernels/mod.ts");
  const a = T.empty([4]);
  assert.throws(
    () => g.dispatch(unary, { buffers: [a.buffer()], workgroups: [1] }),
    /Cannot dispatch "unary": got 1 buffers, expected 2 \(a, out\)/,
  );
  a.release();
});

Deno.test("a WGSL error is reported with the kernel name, line and column", async () => {
  const code = `import { initGpu } from "./core/tensor/mod.ts";
    const g = await initGpu();
    const bad = { name: "broken", source: "@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }", storage: [] };
    g.pipeline(bad); await g.sync(); await new Promise((r) => setTimeout(r, 200));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env: { XDG_RUNTIME_DIR: "/tmp" },
    cwd: new URL("../../../", import.meta.url).pathname,
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /Cannot compile kernel "broken":\n {2}broken.wgsl:1:45:/);
});

Deno.test("grid() splits large workgroup counts within the per-dimension limit", () => {
  assert.deepEqual(T.grid(10), [10, 1]);
  const [x, y] = T.grid(200_000);
  assert.ok(x <= 65535 && x * y >= 200_000);
});

Deno.test("a training step records many dispatches but submits once", async () => {
  const g = await T.initGpu();
  await g.sync();
  const w = T.tensor([0.5, -0.25, 1], [3], { requiresGrad: true });
  const submits = g.submitCount, dispatches = g.dispatchCount;
  T.scope(() => T.backward(T.sum(T.square(T.silu(T.mul(w, w))))));
  g.flush();
  assert.ok(g.dispatchCount - dispatches > 5, "many dispatches");
  assert.equal(g.submitCount - submits, 1, "one submit");
  w.grad!.release();
  w.release();
});

Deno.test("work after the device is lost fails with DeviceLostError saying what to do", async () => {
  const code = `import * as T from "./core/tensor/mod.ts"; const g = await T.initGpu();
    g.device.destroy(); await new Promise((r) => setTimeout(r, 100));
    try { T.exp(T.full([4], 1)); g.flush(); console.log("no error"); }
    catch (e) { console.log(e.name + ": " + e.message); }`;
  const msg = await runScript(code);
  assert.match(msg, /DeviceLostError: GPU device lost \(destroyed\): .*restart the process/);
});

Deno.test("a repeated step reuses its bind groups and still reads each step's inputs", async () => {
  const g = await T.initGpu();
  const step = async (values: number[]) => {
    g.flush(); // same arena offsets each step, as in a decode loop
    const y = T.scope(() => {
      const x = T.tensor(values, [4]);
      return T.mul(T.add(x, x), x);
    });
    const data = await y.data();
    y.release(); // back to the pool, so the next step gets the same buffers
    return data;
  };
  // The pool hands the same buffers back in a cycle of at most two steps.
  await step([0, 0, 0, 0]);
  await step([0, 0, 0, 0]);
  const hits = g.bindGroupHits;
  const got = await step([1, 2, 3, -4]);
  assert.ok(g.bindGroupHits > hits, "a later step found its bind groups cached");
  assert.deepEqual([...got], [2, 8, 18, 32]);
  assert.deepEqual([...await step([5, 0, -1, 2])], [50, 0, 2, 8]);
});
