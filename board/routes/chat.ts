// The Chat tab's model, loaded in the server process: load with adapters, unload, status, and a
// streamed reply (SSE: delta, tool_calls, done, error) with per-message generation settings.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { configSchema, validateConfig } from "../../core/config/mod.ts";
import type { Args } from "../../core/config/schema.ts";
import type { Message } from "../../core/data/conversation.ts";
import type { FunctionCall } from "../../core/data/tool_format.ts";
import type { Registries } from "../../core/plugins.ts";
import type { ReplyOptions } from "../../core/infer/chat.ts";
import { checkPath } from "../paths.ts";
import { checkPaths, isHubName, typedValue } from "../run_config.ts";
import type { BoardContext } from "./context.ts";

/** What the board needs of a chat engine (ChatModel; a fake in tests). */
export interface BoardChat {
  stream(messages: readonly Message[], opts?: ReplyOptions): AsyncIterable<string>;
  readonly template: { extractTool(content: string): string | FunctionCall[] };
  release(): void;
}

export type ChatLoader = (args: Args, registries: Registries) => Promise<BoardChat>;

export type ChatStatus = "unloaded" | "loading" | "loaded";

export interface ChatRoutes {
  readonly app: Hono;
  status(): ChatStatus;
  release(): void;
}

interface ChatBody {
  messages?: Message[];
  system?: string;
  tools?: string;
  [key: string]: unknown;
}

/** Generation keys a message may set, to ReplyOptions' names. */
const GEN_OPTIONS: Readonly<Record<string, keyof ReplyOptions>> = {
  do_sample: "doSample",
  temperature: "temperature",
  top_p: "topP",
  top_k: "topK",
  max_new_tokens: "maxNewTokens",
  repetition_penalty: "repetitionPenalty",
};

export function chatRoutes(ctx: BoardContext, load: ChatLoader): ChatRoutes {
  const { root, registries } = ctx;
  let chat: BoardChat | undefined;
  let loading = false;
  let busy = false;
  const app = new Hono();
  const status = (): ChatStatus => loading ? "loading" : chat ? "loaded" : "unloaded";

  app.get("/api/chat/status", (c) => c.json({ status: status() }));

  app.post("/api/chat/load", async (c) => {
    const b = await c.req.json<Record<string, string | undefined>>();
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) {
      const group = configSchema.byKey.get(k)?.group;
      const allowed = k === "model_name_or_path" || k === "adapter_name_or_path" ||
        k === "template" || k === "finetuning_type" || k === "quantization_bit" ||
        group === "generating";
      if (allowed && v !== undefined && v !== "") values[k] = typedValue(k, v);
    }
    values.model_name_or_path ??= "";
    checkPaths(values, root);
    // NOTE: the model loads in this process, whose working folder need not be the board's root:
    // its paths are made absolute (a child run gets cwd root instead).
    const model = String(values.model_name_or_path);
    if (model && !isHubName(model)) {
      values.model_name_or_path = checkPath(root, model, { key: "model_name_or_path" });
    }
    if (typeof values.adapter_name_or_path === "string") {
      values.adapter_name_or_path = values.adapter_name_or_path.split(",").map((p) =>
        checkPath(root, p.trim(), { key: "adapter_name_or_path" })
      ).join(",");
    }
    const { args } = validateConfig(values, {
      source: "the chat form",
      plugins: { template: registries.templates.names() },
    });
    if (loading) return c.json({ error: "Cannot load a model: another one is loading" }, 409);
    loading = true;
    try {
      chat?.release();
      chat = undefined;
      chat = await load(args, registries);
    } finally {
      loading = false;
    }
    return c.json({ status: status(), model });
  });

  app.post("/api/chat/unload", (c) => {
    chat?.release();
    chat = undefined;
    return c.json({ status: status() });
  });

  app.post("/api/chat", async (c) => {
    const body = await c.req.json<ChatBody>();
    const model = chat;
    if (!model) return c.json({ error: "Cannot chat: no model is loaded" }, 409);
    if (busy) return c.json({ error: "Cannot chat: a reply is still being written" }, 409);
    const opts = replyOptions(body);
    const deltas = model.stream(body.messages ?? [], opts);
    return streamSSE(c, async (stream) => {
      busy = true;
      let reply = "";
      try {
        for await (const d of deltas) {
          if (stream.aborted) break;
          reply += d;
          await stream.writeSSE({ event: "delta", data: JSON.stringify(d) });
        }
        const calls = model.template.extractTool(reply);
        if (Array.isArray(calls) && calls.length) {
          await stream.writeSSE({ event: "tool_calls", data: JSON.stringify(calls) });
        }
        await stream.writeSSE({ event: "done", data: "{}" });
      } catch (e) {
        await stream.writeSSE({ event: "error", data: JSON.stringify((e as Error).message) });
      } finally {
        busy = false;
      }
    });
  });

  return {
    app,
    status,
    release() {
      chat?.release();
      chat = undefined;
    },
  };
}

/** The message's system prompt, tools and generation settings (form text typed per schema). */
export function replyOptions(body: ChatBody): ReplyOptions {
  const o: Record<string, unknown> = {};
  if (typeof body.system === "string" && body.system.trim()) o.system = body.system;
  if (typeof body.tools === "string" && body.tools.trim()) {
    try {
      JSON.parse(body.tools);
    } catch {
      throw new SyntaxError("Cannot use the tools: expected a JSON list of tool definitions");
    }
    o.tools = body.tools;
  }
  for (const [key, name] of Object.entries(GEN_OPTIONS)) {
    const v = body[key];
    if (v === undefined || v === "") continue;
    const typed = typedValue(key, v);
    const type = configSchema.byKey.get(key)?.type;
    const ok = type === "bool" ? typeof typed === "boolean" : typeof typed === "number";
    if (!ok) throw new TypeError(`Cannot chat with ${key} "${v}": expected a ${type}`);
    o[name] = typed;
  }
  return o as ReplyOptions;
}
