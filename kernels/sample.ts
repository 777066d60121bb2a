import source from "./sample.wgsl" with { type: "text" };
import type { KernelDescriptor } from "../core/tensor/gpu.ts";

/**
 * Picks the next token per row on the GPU (greedy or sampled, with each row's own settings) and
 * advances the decoding state.
 */
export const sample: KernelDescriptor = {
  name: "sample",
  source,
  storage: ["logits", "seen", "tokens", "next", "pos", "done", "rows"],
};
