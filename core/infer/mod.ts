// Generation: KV-cached decoding with GPU sampling, chunked read-back and text streaming.
export {
  Batcher,
  type BatcherOptions,
  type BatcherStats,
  type BatchRequest,
  type BatchRow,
  type FinishReason,
} from "./batcher.ts";
export {
  generate,
  generateChunks,
  type GenerateOptions,
  type StreamChunk,
  streamGenerate,
  type TokenChunk,
} from "./generate.ts";
export {
  DecodeState,
  type RowSampling,
  sampleStep,
  samplingDefaults,
  type SamplingOptions,
} from "./sampling.ts";
export { findStop, type TextDecoding, TextStream } from "./streamer.ts";
