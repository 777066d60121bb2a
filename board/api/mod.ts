// The OpenAI-compatible API server's public door.
export { type ApiChat, apiMaxBatch, type ApiOptions, createApiApp } from "./app.ts";
export { ApiError } from "./errors.ts";
export { GenerationQueue } from "./queue.ts";
