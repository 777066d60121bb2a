import source from "./matmul_flex.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/**
 * matmulFast with TM x TN blocks (64 or 128 each, overrides) and split-K (Params kc > 0: z picks a
 * K range and c holds [splits, M, N] partial sums); same alignment rules.
 */
export const matmulFlex: KernelDescriptor = {
  name: "matmul_flex",
  source,
  storage: ["a", "b", "c"],
};
