import source from "./matvec_q4.wgsl" with { type: "text" };
import sharedSource from "./matvec_q4_shared.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/** c = a @ W^T for M <= 8 rows of a, W a blockwise NF4/FP4 [N, K] weight; subgroup reduction. */
export const matvecQ4: KernelDescriptor = {
  name: "matvec_q4",
  source,
  storage: ["a", "codes", "absmax", "c"],
  requires: ["subgroups"],
};

/** matvecQ4 for devices without subgroups (a shared-memory tree). */
export const matvecQ4Shared: KernelDescriptor = {
  name: "matvec_q4_shared",
  source: sharedSource,
  storage: ["a", "codes", "absmax", "c"],
};
