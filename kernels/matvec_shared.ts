import source from "./matvec_shared.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/** matvec reduced through shared memory (used when the device lacks `subgroups`). */
export const matvecShared: KernelDescriptor = {
  name: "matvec_shared",
  source,
  storage: ["a", "b", "c"],
};
