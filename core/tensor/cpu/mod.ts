// The CPU reference backend (f64). Each file mirrors a file of ops/.
export * from "./attention.ts";
export * from "./elementwise.ts";
export * from "./matmul.ts";
export * from "./nn.ts";
export * from "./quant.ts";
export * from "./reduce.ts";
export * from "./shape.ts";
export * from "./tensor.ts";
