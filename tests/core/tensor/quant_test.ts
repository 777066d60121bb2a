// Blockwise quantization (bitsandbytes' NF4, FP4, double quantization; blockwise int8): the code
// tables against bitsandbytes' own, the host quantizer's nearest-code choice and byte layout, the
// GPU dequantization kernels against the f64 reference on odd shapes, and QuantLinear's forward
// and input gradient against the dense reference, with no gradient for the weight.

import assert from "node:assert/strict";
import * as T from "../../../core/tensor/mod.ts";
import {
  absmaxCpu,
  codeAt,
  cpuTensor,
  dequantizeCpu,
  matmul as cpuMatmul,
} from "../../../core/tensor/cpu/mod.ts";
import { QuantLinear } from "../../../core/tensor/quant_linear.ts";
import {
  DYNAMIC_CODE,
  FP4_CODE,
  INT8_CODE,
  NF4_CODE,
  QUANT_BLOCK,
  quantizeHost,
  type QuantType,
} from "../../../core/tensor/quantize.ts";
import { assertClose, checkOp } from "../../_helpers/check_op.ts";

await T.initGpu();

// bitsandbytes csrc/kernels.cu: nf4_dequantization_lut (also backends/utils.py _NF4_QUANT_TABLE).
// deno-fmt-ignore
const BNB_NF4 = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];
// bitsandbytes backends/utils.py _FP4_QUANT_TABLE (4 decimals; kernels.cu's fp4_dequantization_lut
// holds the magnitudes 0, 0.005208333333, 0.66666667, 1, 0.33333333, 0.5, 0.16666667, 0.25).
// deno-fmt-ignore
const BNB_FP4 = [
  0.0, 0.0052, 0.6667, 1.0, 0.3333, 0.5, 0.1667, 0.25,
  -0.0, -0.0052, -0.6667, -1.0, -0.3333, -0.5, -0.1667, -0.25,
];

// [type, double quantization]
const CASES: [QuantType, boolean][] = [
  ["nf4", false],
  ["fp4", false],
  ["nf4", true],
  ["fp4", true],
  ["int8", false],
];
const SHAPES: [number, number][] = [[1, 1], [3, 17], [17, 65], [5, 129], [2, 300]];

function codeOf(type: QuantType): Float32Array {
  return type === "nf4" ? NF4_CODE : type === "fp4" ? FP4_CODE : INT8_CODE;
}

/** Normal weights with a scale that changes per row, a zero row and an outlier. */
function weights(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  const w = Float32Array.from({ length: n }, (_, i) => rng.normal() * 0.05 * (1 + (i % 7)));
  if (n > 130) w.fill(0, 64, 130); // a block (and a bit) of zeros: absmax 0
  if (n > 3) w[3] = 0.9; // an outlier stretches its block
  return w;
}

Deno.test("the NF4 and FP4 code tables equal bitsandbytes'", () => {
  assert.deepEqual([...NF4_CODE], BNB_NF4.map(Math.fround));
  FP4_CODE.forEach((v, i) => assert.ok(Math.abs(v - BNB_FP4[i]) < 5e-5, `FP4 code ${i}: ${v}`));
  assert.equal(FP4_CODE[1], Math.fround(0.005208333333));
  assert.ok(Object.is(FP4_CODE[8], -0), "code 8 is FP4's negative zero");
  // create_dynamic_map(signed=True): 0 and 1, then 2^i means of linspace(0.1, 1, 2^i + 1) * 10^(i-6).
  assert.equal(DYNAMIC_CODE.length, 256);
  assert.ok(DYNAMIC_CODE.every((v, i) => i === 0 || v >= DYNAMIC_CODE[i - 1]), "sorted");
  assert.equal(DYNAMIC_CODE[255], 1);
  assert.equal(DYNAMIC_CODE[0], Math.fround(-0.99296875));
  assert.ok(DYNAMIC_CODE.includes(Math.fround(Math.fround(0.55) * Math.fround(1e-6))));
  assert.equal(DYNAMIC_CODE.filter((v) => v === 0).length, 1);
  assert.equal(INT8_CODE[127], 1);
  assert.equal(INT8_CODE[129], -1);
});

Deno.test("quantizeHost() packs codes in bitsandbytes' byte layout", () => {
  // A block of exact NF4 values with absmax 1: the codes are known.
  const want = Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % 16);
  want[10] = 15; // value 1.0: the absmax
  const q = quantizeHost(want.map((c) => NF4_CODE[c]), "nf4");
  assert.equal(q.absmax[0], 1);
  const bytes = new Uint8Array(q.codes.buffer);
  for (let k = 0; k < 32; k++) {
    assert.equal(bytes[k], (want[2 * k] << 4) | want[2 * k + 1], `byte ${k}`);
  }
  const q8 = quantizeHost([1, -1, 0.5, -127 / 127, 0.25], "int8");
  assert.deepEqual([...new Int8Array(q8.codes.buffer).slice(0, 5)], [127, -127, 64, -127, 32]);
});

Deno.test("quantizeHost() picks the nearest code: within half a code step of each block", () => {
  for (const [type, nested] of CASES) {
    const w = weights(2 * 300, 3);
    const q = quantizeHost(w, type, { double: nested });
    const code = [...codeOf(type)].sort((a, b) => a - b);
    const deq = dequantizeCpu(q), used = absmaxCpu(q);
    for (let i = 0; i < w.length; i++) {
      const b = Math.floor(i / QUANT_BLOCK), a = q.absmax[b];
      const s = a > 0 ? w[i] / a : 0;
      const hi = code.findIndex((c) => c >= s);
      const step = hi <= 0 ? 0 : code[hi] - code[hi - 1];
      // Nested: the codes come from the exact absmax, the value from the 8-bit one.
      const bound = a * step / 2 + Math.abs(used[b] - a) + 1e-6 * a;
      assert.ok(
        Math.abs(w[i] - deq[i]) <= bound,
        `${type}${nested ? "+dq" : ""} element ${i}: ${w[i]} -> ${deq[i]} (bound ${bound})`,
      );
      const c = codeOf(type)[codeAt(q.codes, i, type === "int8" ? 8 : 4)];
      assert.ok(code.every((k) => Math.abs(s - c) <= Math.abs(s - k) + 1e-6), `nearest at ${i}`);
    }
  }
});

Deno.test("double quantization stores the absmax in 8 bits close to the exact one", () => {
  const q = quantizeHost(weights(64 * 600, 4), "nf4", { double: true });
  assert.ok(q.nested, "nested state");
  assert.equal(q.nested.absmax.length, Math.ceil(600 / 256));
  assert.equal(q.nested.codes.length, Math.ceil(600 / 4));
  const used = absmaxCpu(q);
  // The dynamic map's steps near its ends are 1/64 of the range: half of that at most.
  const top = Math.max(...q.absmax);
  let worst = 0;
  q.absmax.forEach((a, b) => (worst = Math.max(worst, Math.abs(used[b] - a) / top)));
  assert.ok(worst > 0 && worst < 1 / 128, `absmax error ${worst} of the largest absmax`);
  assert.equal(quantizeHost(weights(64, 4), "int8", { double: true }).nested, null);
});

Deno.test("dequantize() on the GPU equals the CPU reference for odd shapes", async () => {
  for (const [type, nested] of CASES) {
    for (const [out, inF] of SHAPES) {
      const w = weights(out * inF, out * 31 + inF);
      const lin = new QuantLinear(w, [out, inF], {
        bits: type === "int8" ? 8 : 4,
        type: type === "int8" ? undefined : type,
        double: nested,
      });
      const got = lin.dequantized();
      assert.deepEqual([...got.shape], [out, inF]);
      const want = dequantizeCpu(quantizeHost(w, type, { double: nested }));
      assertClose(
        await got.data(),
        want,
        1e-7,
        1e-6,
        `${type}${nested ? "+dq" : ""} [${out}, ${inF}]`,
      );
      got.release();
      lin.release();
    }
  }
});

Deno.test("QuantLinear stores its weight packed and frozen", () => {
  const [out, inF] = [17, 65];
  const w = weights(out * inF, 9);
  const dense = out * inF * 4;
  const bytes = (l: QuantLinear) => l.parameters().reduce((s, t) => s + t.byteLength, 0);
  const nf4 = new QuantLinear(w, [out, inF], { bits: 4, double: false });
  const dq = new QuantLinear(w, [out, inF], { bits: 4 });
  const int8 = new QuantLinear(w, [out, inF], { bits: 8 });
  const n = out * inF, blocks = Math.ceil(n / 64);
  // Codes (4 or 8 bits each) plus an f32 absmax per 64, or its 8-bit code and an f32 per 256.
  assert.equal(bytes(nf4), 4 * Math.ceil(n / 8) + 4 * blocks);
  assert.equal(
    bytes(dq),
    4 * Math.ceil(n / 8) + 4 * Math.ceil(blocks / 4) + 4 * Math.ceil(blocks / 256),
  );
  assert.equal(bytes(int8), 4 * Math.ceil(n / 4) + 4 * blocks);
  assert.ok(bytes(nf4) < dense / 6, `${bytes(nf4)} bytes of ${dense}`);
  assert.ok(
    dq.param("weight_absmax").dtype === "u32" && nf4.param("weight_absmax").dtype === "f32",
  );
  for (const l of [nf4, dq, int8]) {
    assert.ok(l.parameters().every((t) => !t.requiresGrad), "every packed tensor is frozen");
    assert.equal(l.param("weight").dtype, "u32");
    l.release();
  }
});

Deno.test("QuantLinear forward and input gradient match the dense reference for odd shapes", async () => {
  for (const [type, nested] of [["nf4", true], ["fp4", false], ["int8", false]] as const) {
    for (const [rows, out, inF] of [[1, 5, 65], [3, 17, 33], [9, 7, 130]]) {
      const w = weights(out * inF, rows + out);
      const bias = Float32Array.from({ length: out }, (_, i) => 0.1 * i - 0.3);
      const lin = new QuantLinear(w, [out, inF], {
        bits: type === "int8" ? 8 : 4,
        type: type === "int8" ? undefined : type,
        double: nested,
        bias: T.tensor(bias, [out]),
      });
      const deq = cpuTensor(dequantizeCpu(quantizeHost(w, type, { double: nested })), [out, inF]);
      await checkOp({
        gpu: (x) => lin.forward(x),
        cpu: (x) => {
          const y = cpuMatmul(x, deq, { transB: true });
          return cpuTensor(y.data.map((v, i) => v + bias[i % out]), y.shape);
        },
        inputs: [[rows, inF]],
        atol: 1e-5,
        rtol: 1e-4,
      });
      lin.release();
    }
  }
});

Deno.test("QuantLinear gives no gradient to its weight and keeps no dequantized copy", async () => {
  const [out, inF] = [9, 65];
  const lin = new QuantLinear(weights(out * inF, 2), [out, inF], {
    bits: 4,
    bias: T.tensor(new Float32Array(out).fill(0.5), [out]),
  });
  const x = T.keep(T.randn([2, 3, inF], 1, { seed: 4 }));
  x.requiresGrad = true;
  const before = T.gpu().pool.bytesInUse;
  T.scope(() => {
    const y = lin.forward(x);
    assert.ok(y.requiresGrad, "the output depends on the input");
    assert.deepEqual([...y.shape], [2, 3, out]);
    T.backward(T.sum(y));
  });
  assert.ok(x.grad, "the input gets a gradient");
  assert.ok(lin.parameters().every((t) => t.grad === null), "the weight gets none");
  x.grad!.release();
  x.grad = null;
  assert.equal(T.gpu().pool.bytesInUse, before, "forward and backward kept nothing");
  const y = T.noGrad(() => lin.forward(T.zeros([1, inF])));
  assert.equal(y.node, null);
  assertClose(await y.data(), new Float32Array(out).fill(0.5), 1e-7, 0, "zero input gives bias");
  y.release();
  x.release();
  lin.release();
});

Deno.test("QuantLinear rejects wrong sizes, bit widths and inputs", () => {
  assert.throws(() => new QuantLinear([1, 2, 3], [2, 2], { bits: 4 }), TypeError);
  assert.throws(
    () => new QuantLinear([1, 2, 3, 4], [2, 2], { bits: 3 as 4 }),
    /to 3 bits: expected 4 or 8/,
  );
  const lin = new QuantLinear([1, 2, 3, 4], [2, 2], { bits: 8 });
  assert.throws(
    () => T.scope(() => lin.forward(T.zeros([3, 5]))),
    /Cannot apply QuantLinear\(2, 2\) to a tensor of shape \[3,5\]/,
  );
  lin.release();
});
