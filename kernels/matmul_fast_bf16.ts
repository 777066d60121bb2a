import source from "./matmul_fast.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";
import { bf16Weights } from "./_bf16_weights.ts";

/** matmulFast with an f32 a and a bf16 (u32-packed) b, widened in-kernel; f32 out. */
export const matmulFastBf16: KernelDescriptor = {
  name: "matmul_fast_bf16",
  source: bf16Weights(source, "matmul_fast_bf16"),
  storage: ["a", "b", "c"],
};
