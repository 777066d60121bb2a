import source from "./matmul_flex.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";
import { bf16Weights } from "./_bf16_weights.ts";

/** matmulFlex with an f32 a and a bf16 (u32-packed) b, widened in-kernel; f32 out. */
export const matmulFlexBf16: KernelDescriptor = {
  name: "matmul_flex_bf16",
  source: bf16Weights(source, "matmul_flex_bf16"),
  storage: ["a", "b", "c"],
};
