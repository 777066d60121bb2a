// The bf16-weight matmul variants are derived from their f32 sources, not kept as twin files.
import assert from "node:assert/strict";
import { bf16Weights } from "../../kernels/_bf16_weights.ts";
import { matmulFast, matmulFastBf16, matmulFlex, matmulFlexBf16 } from "../../kernels/mod.ts";

Deno.test("the bf16 matmul variants read b as packed bf16 and differ from f32 only there", () => {
  for (const [f32, bf16] of [[matmulFast, matmulFastBf16], [matmulFlex, matmulFlexBf16]]) {
    assert.match(bf16.source, /alias BVec = vec2u;/, bf16.name);
    assert.match(bf16.source, /bitcast<vec4f>/, bf16.name);
    const strip = (s: string) => s.replace(/alias BVec = [^;]+;/, "").replace(/fn widen[^}]+}/, "");
    assert.equal(
      strip(bf16.source),
      strip(f32.source),
      `${bf16.name} keeps the rest of the kernel`,
    );
  }
});

Deno.test("bf16Weights() refuses a source without its two marker lines, naming the kernel", () => {
  assert.throws(() => bf16Weights("alias T = f32;", "matmul_x_bf16"), /matmul_x_bf16.*alias BVec/);
});
