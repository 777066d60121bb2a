export {
  type ExportArgs,
  exportModel,
  type ExportOptions,
  type ExportRegistries,
} from "./export.ts";
export { exportHf, type HfExportOptions, TOKENIZER_FILES } from "./hf.ts";
export {
  exportGguf,
  type GgufExportOptions,
  ggufTensorName,
  type GgufType,
  permuteRope,
} from "./gguf.ts";
export { ollamaModelfile } from "./modelfile.ts";
export { dequantizeQ8_0, quantizeQ8_0 } from "./q8_0.ts";
