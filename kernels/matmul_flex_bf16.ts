import source from "./matmul_flex_bf16.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/** matmulFlex with an f32 a and a bf16 (u32-packed) b, widened in-kernel; f32 out. */
export const matmulFlexBf16: KernelDescriptor = {
  name: "matmul_flex_bf16",
  source,
  storage: ["a", "b", "c"],
};
