import source from "./dequant_nf4.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

export const dequantNf4: KernelDescriptor = {
  name: "dequant_nf4",
  source,
  storage: ["codes", "absmax", "out"],
};
