import source from "./dequant_int8.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

export const dequantInt8: KernelDescriptor = {
  name: "dequant_int8",
  source,
  storage: ["codes", "absmax", "out"],
};
