// The OpenAI-compatible API (LlamaFactory's `llamafactory-cli api`): GET /v1/models,
// POST /v1/chat/completions and POST /v1/completions, streamed as server-sent events on request.
// A ChatModel's requests go to a batching engine (core/infer/batcher.ts): concurrent requests and
// a request's `n` choices share batches. Other engines (test fakes) take turns on one slot. A
// client that goes away ends its generation.
import { Hono } from "hono";
import type { Context } from "hono";
import type { Message } from "../../core/data/conversation.ts";
import type { FunctionCall } from "../../core/data/tool_format.ts";
import { Batcher, type FinishReason } from "../../core/infer/batcher.ts";
import { ChatModel, type ReplyOptions } from "../../core/infer/chat.ts";
import type { GenerateOptions } from "../../core/infer/generate.ts";
import { completionJob } from "./complete.ts";
import { ApiError } from "./errors.ts";
import {
  chatRequest,
  type CompletionRequest,
  completionRequest,
  parseBody,
  toConversation,
} from "./protocol.ts";
import { GenerationQueue } from "./queue.ts";
import { cutAtStops, type StopState } from "./stops.ts";

/** What the server needs of a chat engine; `ChatModel` is one, tests pass fakes. */
export interface ApiChat {
  stream(messages: readonly Message[], opts?: ReplyOptions): AsyncGenerator<string>;
  readonly template: { extractTool(content: string): string | FunctionCall[] };
  promptIds?(messages: readonly Message[], opts?: ReplyOptions): number[];
  readonly tokenizer?: { encode(text: string): number[] };
  /** Plain continuation of `prompt` for /v1/completions (built in for a `ChatModel`). */
  complete?(prompt: string, opts?: ReplyOptions): AsyncGenerator<string>;
}

export interface ApiOptions {
  /** Clients must send `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** The id GET /v1/models reports (LlamaFactory's API_MODEL_NAME). */
  modelName?: string;
  /** Replies' length when a request gives no max_tokens (else the engine's max_new_tokens). */
  defaultMaxTokens?: number;
  /** The batching engine of a `ChatModel` (default: a new one over its model). */
  engine?: Batcher;
  /** Rows per batch of the default engine (default: the API_MAX_BATCH variable, else 8). */
  maxBatch?: number;
  /** The slot engines other than a `ChatModel` take turns on. */
  queue?: GenerationQueue;
}

type Finish = "stop" | "length" | "tool_calls";

/** One choice being generated: its text deltas, then how it ended when the engine knows. */
interface Choice extends AsyncIterable<string> {
  readonly finishReason: FinishReason | null;
  /** Null when the engine does not count (the text is re-encoded instead). */
  readonly completionTokens: number | null;
  cancel(): void;
}

/** Starts `n` choices of one prompt; `signal` ends them all (the client left). */
type Start = (n: number, signal: AbortSignal) => Choice[];

/** The reply budget of a request, and whether the client set it. */
interface Budget {
  maxTokens?: number;
  explicit: boolean;
}

/** Rows per batch that API_MAX_BATCH asks for, or undefined when it is not set. */
export function apiMaxBatch(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): number | undefined {
  const raw = env("API_MAX_BATCH");
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot batch API_MAX_BATCH "${raw}" rows: expected an integer >= 1`);
  }
  return n;
}

export function createApiApp(chat: ApiChat, opts: ApiOptions = {}): Hono {
  const app = new Hono();
  const queue = opts.queue ?? new GenerationQueue();
  const modelName = opts.modelName ?? "gpt-3.5-turbo";
  const created = Math.floor(Date.now() / 1000);
  const engine = chat instanceof ChatModel
    ? opts.engine ?? new Batcher(chat.model, {
      tokenizer: chat.tokenizer,
      maxBatch: opts.maxBatch ?? apiMaxBatch(),
      seed: chat.args.seed,
    })
    : undefined;

  /** Choices of `prompt` from the batching engine, with `options` fitted to the context. */
  function batched(prompt: number[], options: GenerateOptions, budget: Budget): Start {
    const fitted = fitContext(engine!, prompt.length, options, budget.explicit);
    return (n, signal) => engineCall(() => engine!.submit({ ...fitted, prompt, n, signal }));
  }

  app.onError((err, c) => {
    const e = err instanceof ApiError
      ? err
      : new ApiError(500, `Cannot answer the request: ${err.message}`, { code: "server_error" });
    return c.json(e.toJSON(), e.status);
  });
  app.notFound((c) => {
    const e = new ApiError(404, `Cannot find route ${c.req.method} ${c.req.path}`, {
      code: "unknown_url",
    });
    return c.json(e.toJSON(), 404);
  });
  app.use("/v1/*", async (c, next) => {
    if (opts.apiKey && c.req.header("authorization") !== `Bearer ${opts.apiKey}`) {
      throw new ApiError(401, "Cannot authenticate: invalid or missing API key", {
        code: "invalid_api_key",
      });
    }
    await next();
  });

  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: [{ id: modelName, object: "model", created, owned_by: "owner" }],
    }));

  app.post("/v1/chat/completions", async (c) => {
    const req = parseBody(chatRequest, await readJson(c));
    const conv = toConversation(req);
    const reply = replyOptions(req, opts.defaultMaxTokens);
    reply.system = conv.system;
    reply.tools = conv.tools;
    const stops = stopList(req.stop), budget = budgetOf(req, reply);
    let promptTokens = 0, start: Start;
    if (engine && chat instanceof ChatModel) {
      const ids = engineCall(() => chat.promptIds(conv.messages, reply));
      const options = chat.generationOptions(reply);
      options.stopStrings = [...options.stopStrings ?? [], ...stops];
      promptTokens = ids.length;
      start = batched(ids, options, budget);
    } else {
      promptTokens = engineCall(() => chat.promptIds?.(conv.messages, reply).length ?? 0);
      start = queued(queue, () => chat.stream(conv.messages, reply), stops);
    }
    const n = req.n ?? 1, id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const head = { id, object: "chat.completion.chunk", created: now(), model: req.model };
    const toolsOn = conv.tools !== undefined;
    if (req.stream) {
      const ctl = new AbortController();
      const choices = start(n, ctl.signal);
      return sse(ctl, async function* () {
        for (const [i, choice] of choices.entries()) {
          if (ctl.signal.aborted) return;
          const chunk = (delta: unknown, finish: Finish | null) => ({
            ...head,
            choices: [{ index: i, delta, logprobs: null, finish_reason: finish }],
          });
          if (toolsOn) {
            // Tool calls are only known once the reply is whole, so it comes in one chunk.
            const text = await collect(choice);
            const msg = replyMessage(chat, text);
            yield chunk({ role: "assistant", ...streamedTools(msg) }, null);
            yield chunk({}, msg.tool_calls ? "tool_calls" : finishOf(chat, choice, text, budget));
            continue;
          }
          yield chunk({ role: "assistant", content: "" }, null);
          let text = "";
          for await (const d of choice) {
            text += d;
            yield chunk({ content: d }, null);
          }
          yield chunk({}, finishOf(chat, choice, text, budget));
        }
      });
    }
    // NOTE: only the non-streamed path watches request.signal: Deno also aborts it once a response
    // is sent, and a streamed body learns of a departed client from its cancel() instead.
    const signal = c.req.raw.signal;
    const choices = start(n, signal);
    const texts = await collectAll(choices, signal);
    let completionTokens = 0;
    const out = choices.map((choice, i) => {
      const text = texts[i];
      completionTokens += choice.completionTokens ?? countTokens(chat, text);
      const message = toolsOn ? replyMessage(chat, text) : { role: "assistant", content: text };
      const finish = "tool_calls" in message && message.tool_calls
        ? "tool_calls"
        : finishOf(chat, choice, text, budget);
      return { index: i, message, logprobs: null, finish_reason: finish };
    });
    return c.json({
      id,
      object: "chat.completion",
      created: head.created,
      model: req.model,
      choices: out,
      usage: usage(promptTokens, completionTokens),
    });
  });

  app.post("/v1/completions", async (c) => {
    const req: CompletionRequest = parseBody(completionRequest, await readJson(c));
    const complete = chat.complete?.bind(chat);
    if (!engine && !complete) {
      throw new ApiError(404, "Cannot complete text: this engine serves chat completions only", {
        code: "unsupported",
      });
    }
    const reply = replyOptions(req, opts.defaultMaxTokens);
    const stops = stopList(req.stop), budget = budgetOf(req, reply);
    const prompts = typeof req.prompt === "string" ? [req.prompt] : req.prompt;
    const jobs = prompts.map((p) => {
      if (engine && chat instanceof ChatModel) {
        const { ids, options } = engineCall(() => completionJob(chat, p, reply));
        return {
          promptTokens: ids.length,
          start: batched(ids, { ...options, stopStrings: stops }, budget),
        };
      }
      return {
        promptTokens: countTokens(chat, p),
        start: queued(queue, () => complete!(p, reply), stops),
      };
    });
    const n = req.n ?? 1, id = `cmpl-${crypto.randomUUID().replaceAll("-", "")}`;
    const head = { id, object: "text_completion", created: now(), model: req.model };
    if (req.stream) {
      const ctl = new AbortController();
      // Every prompt's choices are submitted at once, so they can share a batch.
      const choices = jobs.flatMap((j) => j.start(n, ctl.signal));
      return sse(ctl, async function* () {
        for (const [i, choice] of choices.entries()) {
          if (ctl.signal.aborted) return;
          const chunk = (text: string, finish: Finish | null) => ({
            ...head,
            choices: [{ index: i, text, logprobs: null, finish_reason: finish }],
          });
          let text = "";
          for await (const d of choice) {
            text += d;
            yield chunk(d, null);
          }
          yield chunk("", finishOf(chat, choice, text, budget));
        }
      });
    }
    const signal = c.req.raw.signal;
    const choices = jobs.flatMap((j) => j.start(n, signal));
    const texts = await collectAll(choices, signal);
    let completionTokens = 0;
    const out = choices.map((choice, i) => {
      completionTokens += choice.completionTokens ?? countTokens(chat, texts[i]);
      const finish = finishOf(chat, choice, texts[i], budget);
      return { index: i, text: texts[i], logprobs: null, finish_reason: finish };
    });
    const promptTokens = jobs.reduce((s, j) => s + j.promptTokens, 0);
    return c.json({ ...head, choices: out, usage: usage(promptTokens, completionTokens) });
  });

  return app;
}

/**
 * Choices of an engine without batching: each waits for the slot when first read, cuts its text
 * at the request's stop strings and, when left early, closes the engine's generator.
 */
function queued(
  queue: GenerationQueue,
  source: () => AsyncGenerator<string>,
  stops: readonly string[],
): Start {
  return (n, signal) =>
    Array.from({ length: n }, () => {
      const own = new AbortController();
      const sig = AbortSignal.any([signal, own.signal]);
      const state: StopState = { stopped: false };
      return {
        get finishReason() {
          return state.stopped ? "stop" as const : null;
        },
        completionTokens: null,
        cancel: () => own.abort(),
        async *[Symbol.asyncIterator]() {
          const release = await queue.acquire(sig);
          try {
            for await (const d of cutAtStops(engineStream(source()), stops, state)) {
              // Leaving the loop closes the engine's generator, which ends the GPU work.
              if (sig.aborted) return;
              yield d;
            }
          } finally {
            release();
          }
        },
      };
    });
}

async function collect(choice: Choice): Promise<string> {
  let text = "";
  for await (const d of choice) text += d;
  return text;
}

/** Every choice's whole text; a failure or a departed client ends the others. */
async function collectAll(choices: Choice[], signal: AbortSignal): Promise<string[]> {
  try {
    const texts = await Promise.all(choices.map(collect));
    signal.throwIfAborted();
    return texts;
  } catch (e) {
    for (const c of choices) c.cancel();
    throw e;
  }
}

/**
 * `options` with a token budget that fits the model's context after the prompt: a budget the
 * client set that does not fit is refused, the default one shrinks to fit.
 */
function fitContext(
  engine: Batcher,
  promptLength: number,
  options: GenerateOptions,
  explicit: boolean,
): GenerateOptions {
  const ctx = engine.model.cfg.maxPositions, room = ctx - promptLength;
  if (options.maxNewTokens <= room) return options;
  if (explicit || room < 1) {
    throw new ApiError(
      400,
      `Cannot generate ${options.maxNewTokens} tokens after a prompt of ${promptLength}: the model's context holds ${ctx} tokens`,
      { param: room < 1 ? "messages" : "max_tokens", code: "context_length_exceeded" },
    );
  }
  return { ...options, maxNewTokens: room };
}

function budgetOf(
  req: { max_tokens?: number | null; max_completion_tokens?: number | null },
  reply: ReplyOptions,
): Budget {
  const explicit = (req.max_completion_tokens ?? req.max_tokens) != null;
  return { maxTokens: reply.maxNewTokens, explicit };
}

function replyOptions(
  req: {
    temperature?: number | null;
    top_p?: number | null;
    max_tokens?: number | null;
    seed?: number | null;
    max_completion_tokens?: number | null;
  },
  defaultMax: number | undefined,
): ReplyOptions {
  const o: ReplyOptions = {};
  // LlamaFactory: temperature 0 means greedy decoding.
  if (req.temperature === 0) o.doSample = false;
  else if (req.temperature != null) o.temperature = req.temperature;
  if (req.top_p != null) o.topP = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens ?? defaultMax;
  if (max != null) o.maxNewTokens = max;
  if (req.seed != null) o.seed = req.seed;
  return o;
}

function stopList(stop: string | string[] | null | undefined): string[] {
  return stop == null ? [] : typeof stop === "string" ? [stop] : stop;
}

/** The assistant message for a reply that may hold function calls. */
function replyMessage(chat: ApiChat, text: string) {
  const calls = chat.template.extractTool(text);
  if (typeof calls === "string") return { role: "assistant", content: calls };
  return {
    role: "assistant",
    content: null,
    tool_calls: calls.map((f) => ({
      id: `call_${crypto.randomUUID().replaceAll("-", "")}`,
      type: "function",
      function: { name: f.name, arguments: f.arguments },
    })),
  };
}

function streamedTools(msg: ReturnType<typeof replyMessage>) {
  if (!msg.tool_calls) return { content: msg.content };
  return { tool_calls: msg.tool_calls.map((t, index) => ({ index, ...t })) };
}

/**
 * How a choice ended: as its engine says, else "length" when the reply used its whole token
 * budget (counted by re-encoding the text).
 */
function finishOf(chat: ApiChat, choice: Choice, text: string, budget: Budget): Finish {
  if (choice.finishReason === "length") return "length";
  if (choice.finishReason !== null) return "stop";
  if (budget.maxTokens === undefined || !chat.tokenizer) return "stop";
  return countTokens(chat, text) >= budget.maxTokens ? "length" : "stop";
}

function countTokens(chat: ApiChat, text: string): number {
  return text && chat.tokenizer ? chat.tokenizer.encode(text).length : 0;
}

function usage(prompt: number, completion: number) {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, "Cannot parse the request body: expected JSON", {
      code: "invalid_json",
    });
  }
}

/** Calls the engine, turning its input errors (bad turns, tools JSON, prompt too long) into 400s. */
function engineCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asClientError(e);
  }
}

async function* engineStream(gen: AsyncGenerator<string>): AsyncGenerator<string> {
  try {
    yield* gen;
  } catch (e) {
    throw asClientError(e);
  }
}

function asClientError(e: unknown): unknown {
  if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) {
    return new ApiError(400, e.message, { code: "invalid_request" });
  }
  return e;
}

/**
 * A server-sent event stream of `events` ending with `data: [DONE]`. `ctl` aborts when the body is
 * cancelled (the client disconnected); an error mid-stream is sent as an `error` event (the status
 * line is gone by then).
 */
function sse(ctl: AbortController, events: () => AsyncGenerator<unknown>): Response {
  const gen = events();
  const enc = new TextEncoder();
  const line = (v: unknown) =>
    enc.encode(`data: ${typeof v === "string" ? v : JSON.stringify(v)}\n\n`);
  const body = new ReadableStream<Uint8Array>({
    async pull(out) {
      try {
        const { value, done } = await gen.next();
        if (!done) return out.enqueue(line(value));
        out.enqueue(line("[DONE]"));
      } catch (e) {
        if (ctl.signal.aborted) return out.close();
        const err = e instanceof ApiError
          ? e
          : new ApiError(500, `Cannot finish the reply: ${(e as Error).message}`);
        out.enqueue(line(err.toJSON()));
      }
      out.close();
    },
    async cancel() {
      ctl.abort(new DOMException("The client went away", "AbortError"));
      await gen.return(undefined);
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "connection": "keep-alive",
    },
  });
}
