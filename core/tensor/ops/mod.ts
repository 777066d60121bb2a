// The ops, one import for users and for the rest of core/.
import { installAutogradOps } from "../autograd.ts";
import { addInPlace } from "./binary.ts";
import { onesLike } from "./creation.ts";

export * from "./attention.ts";
export * from "./binary.ts";
export * from "./cast.ts";
export * from "./creation.ts";
export * from "./cross_entropy.ts";
export * from "./dropout.ts";
export * from "./index.ts";
export * from "./matmul.ts";
export * from "./norm.ts";
export * from "./quant.ts";
export * from "./reduce.ts";
export * from "./rope.ts";
export * from "./shape.ts";
export * from "./softmax.ts";
export * from "./topk.ts";
export * from "./unary.ts";

installAutogradOps({ onesLike, addInPlace });
