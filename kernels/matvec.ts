import source from "./matvec.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/** c = a @ b^T for M <= 8 rows of a, b an f32/f16/bf16 [N, K] weight; subgroup reduction. */
export const matvec: KernelDescriptor = {
  name: "matvec",
  source,
  storage: ["a", "b", "c"],
  requires: ["subgroups"],
};

/** Columns of c per workgroup of matvec and matvecShared. */
export const MATVEC_COLUMNS = 4;
/** The most rows of a the matvec kernels take (one accumulator each). */
export const MATVEC_MAX_ROWS = 8;
