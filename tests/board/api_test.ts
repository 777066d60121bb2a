// The OpenAI-compatible API driven by the real `openai` client against a server on 127.0.0.1:
// the tiny base model for generation, a canned fake engine for tool calls.
import assert from "node:assert/strict";
import OpenAI from "openai";
import { type ApiChat, apiMaxBatch, type ApiOptions, createApiApp } from "../../board/api/mod.ts";
import { apiAddress, isLoopback } from "../../cli/api.ts";
import { loadConfig } from "../../core/config/mod.ts";
import type { Message } from "../../core/data/conversation.ts";
import { Batcher } from "../../core/infer/batcher.ts";
import { ChatModel } from "../../core/infer/chat.ts";
import { gpu, initGpu } from "../../core/tensor/mod.ts";
import { builtinRegistries } from "../../plugins/mod.ts";

function serve(chat: ApiChat, opts: ApiOptions = {}) {
  const app = createApiApp(chat, opts);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}/v1`;
  const client = new OpenAI({ baseURL: base, apiKey: opts.apiKey ?? "none", maxRetries: 0 });
  return { base, client, close: () => server.shutdown() };
}

const tiny = new Map<boolean, ChatModel>();
/** The tiny model, greedy by default or sampling (do_sample=true) when asked. */
async function tinyChat(sample = false): Promise<ChatModel> {
  if (tiny.has(sample)) return tiny.get(sample)!;
  await initGpu();
  const registries = builtinRegistries();
  const { args } = await loadConfig(undefined, [
    "model_name_or_path=models/tiny-llama",
    "template=llama3",
    `do_sample=${sample}`,
  ], { plugins: { template: registries.templates.names() } });
  tiny.set(sample, await ChatModel.load(args, registries));
  return tiny.get(sample)!;
}

/** An engine that always answers `text`, one character at a time, recording what it was asked. */
function fakeChat(text: string, extract: ApiChat["template"]["extractTool"]) {
  const asked: { messages: readonly Message[]; tools?: string; system?: string }[] = [];
  const chat: ApiChat = {
    template: { extractTool: extract },
    async *stream(messages, opts = {}) {
      asked.push({ messages, tools: opts.tools, system: opts.system });
      for (const ch of text) {
        await Promise.resolve();
        yield ch;
      }
    },
  };
  return { chat, asked };
}

const user = [{ role: "user" as const, content: "Who are you?" }];

Deno.test("chat completions answer the openai client like ChatModel.reply() does", async () => {
  const chat = await tinyChat();
  const { client, close } = serve(chat, { modelName: "tiny" });
  try {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["tiny"]);
    const r = await client.chat.completions.create({
      model: "tiny",
      messages: user,
      max_tokens: 8,
      temperature: 0,
    });
    const want = await chat.reply(user, { maxNewTokens: 8, doSample: false });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.content, want);
    assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
    assert.ok(r.usage!.prompt_tokens > 0);
  } finally {
    await close();
  }
});

Deno.test("streamed chat chunks concatenate to the non-streamed reply and end with [DONE]", async () => {
  const chat = await tinyChat();
  const { client, base, close } = serve(chat);
  try {
    const body = { model: "m", messages: user, max_tokens: 8, temperature: 0 };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true });
    let text = "", finish: string | null = null, chunks = 0;
    for await (const c of stream) {
      chunks++;
      assert.equal(c.object, "chat.completion.chunk");
      text += c.choices[0].delta.content ?? "";
      finish = c.choices[0].finish_reason ?? finish;
    }
    assert.ok(chunks >= 2);
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    const raw = await fetch(`${base}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true, max_tokens: 2 }),
    });
    assert.match(await raw.text(), /data: \[DONE\]\n\n$/);
  } finally {
    await close();
  }
});

Deno.test("completions continue a raw prompt and stop at a stop string", async () => {
  const chat = await tinyChat();
  const { client, close } = serve(chat);
  try {
    const body = { model: "m", prompt: "Once upon a time", max_tokens: 8, temperature: 0 };
    const r = await client.completions.create(body);
    const text = r.choices[0].text;
    assert.equal(r.object, "text_completion");
    assert.ok(text.length > 0);
    // Stop at the generated text's middle character: the reply must end just before it.
    const stop = text.slice(Math.floor(text.length / 2)).trim().slice(0, 1) || text[0];
    const cut = await client.completions.create({ ...body, stop: [stop], n: 2 });
    assert.equal(cut.choices.length, 2);
    for (const c of cut.choices) {
      assert.equal(c.text, text.slice(0, text.indexOf(stop)));
      assert.equal(c.finish_reason, "stop");
    }
  } finally {
    await close();
  }
});

Deno.test("a tool call in the reply comes back as tool_calls, streamed or not", async () => {
  // The llama3 template's own tool format, so its extractTool parses what a model would write.
  const template = builtinRegistries().templates.get("llama3");
  const call = template.toolFormat.formatCalls([
    { name: "get_weather", arguments: '{"city": "Paris"}' },
  ]);
  const { chat, asked } = fakeChat(call, (c) => template.extractTool(c));
  const { client, close } = serve(chat);
  const tools = [{
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
  }];
  try {
    const r = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "system", content: "Be brief" }, { role: "user", content: "Paris?" }],
      tools,
    });
    const choice = r.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    const tc = choice.message.tool_calls![0];
    assert.equal(tc.type, "function");
    if (tc.type !== "function") throw new Error("unreachable");
    assert.equal(tc.function.name, "get_weather");
    assert.deepEqual(JSON.parse(tc.function.arguments), { city: "Paris" });
    assert.equal(asked[0].system, "Be brief");
    assert.deepEqual(JSON.parse(asked[0].tools!)[0].name, "get_weather");

    // The call and its result go back to the engine as function and observation turns.
    await client.chat.completions.create({
      model: "m",
      messages: [
        { role: "user", content: "Paris?" },
        { role: "assistant", content: null, tool_calls: [tc] },
        { role: "tool", tool_call_id: tc.id, content: "sunny" },
      ],
      tools,
    });
    assert.deepEqual(asked[1].messages.map((m) => m.role), ["user", "function", "observation"]);
    assert.deepEqual(JSON.parse(asked[1].messages[1].content), [{
      name: "get_weather",
      arguments: { city: "Paris" },
    }]);

    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Paris?" }],
      tools,
      stream: true,
    });
    const names: string[] = [];
    let finish: string | null = null;
    for await (const c of stream) {
      for (const t of c.choices[0].delta.tool_calls ?? []) names.push(t.function!.name!);
      finish = c.choices[0].finish_reason ?? finish;
    }
    assert.deepEqual(names, ["get_weather"]);
    assert.equal(finish, "tool_calls");
  } finally {
    await close();
  }
});

Deno.test("a wrong API key is refused with 401", async () => {
  const { chat } = fakeChat("hi", (c) => c);
  const { base, close } = serve(chat, { apiKey: "secret" });
  try {
    const bad = new OpenAI({ baseURL: base, apiKey: "wrong", maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({ model: "m", messages: user }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401,
    );
    const good = new OpenAI({ baseURL: base, apiKey: "secret", maxRetries: 0 });
    const r = await good.chat.completions.create({ model: "m", messages: user });
    assert.equal(r.choices[0].message.content, "hi");
  } finally {
    await close();
  }
});

Deno.test("malformed requests get OpenAI-style 400 errors", async () => {
  const { chat } = fakeChat("hi", (c) => c);
  const { base, client, close } = serve(chat);
  try {
    const post = (body: string) =>
      fetch(`${base}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const notJson = await post("{not json");
    assert.equal(notJson.status, 400);
    const e1 = (await notJson.json()).error;
    assert.equal(e1.type, "invalid_request_error");
    assert.ok(e1.message.length > 0);
    const badTemp = await post(JSON.stringify({ model: "m", messages: user, temperature: "hot" }));
    assert.equal(badTemp.status, 400);
    assert.equal((await badTemp.json()).error.param, "temperature");
    await assert.rejects(
      client.chat.completions.create({
        model: "m",
        messages: [{ role: "assistant", content: "I speak first" }],
      }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === "messages[0].role",
    );
    const missing = await fetch(`${base}/nothing`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "unknown_url");
  } finally {
    await close();
  }
});

Deno.test("16 concurrent streams all finish, each with the same greedy reply", async () => {
  const chat = await tinyChat();
  const engine = new Batcher(chat.model, { tokenizer: chat.tokenizer });
  const { client, close } = serve(chat, { engine });
  try {
    const one = async () => {
      const s = await client.chat.completions.create({
        model: "m",
        messages: user,
        max_tokens: 8,
        temperature: 0,
        stream: true,
      });
      let text = "", finish: string | null = null;
      for await (const c of s) {
        text += c.choices[0].delta.content ?? "";
        finish = c.choices[0].finish_reason ?? finish;
      }
      return { text, finish };
    };
    const all = await Promise.all(Array.from({ length: 16 }, one));
    const want = await chat.reply(user, { maxNewTokens: 8, doSample: false });
    for (const r of all) {
      assert.equal(r.text, want);
      assert.ok(r.finish === "stop" || r.finish === "length");
    }
    assert.ok(engine.stats.batches < 16, `${engine.stats.batches} batches for 16 streams`);
    assert.equal(engine.stats.rows, 16);
  } finally {
    await close();
  }
});

Deno.test("a client that leaves mid-stream frees the slot for the next request", async () => {
  let closed = 0;
  const chat: ApiChat = {
    template: { extractTool: (c) => c },
    async *stream(_messages, opts = {}) {
      try {
        for (let i = 0; i < (opts.maxNewTokens ?? 10_000); i++) {
          await new Promise((r) => setTimeout(r, 1));
          yield "x";
        }
      } finally {
        closed++;
      }
    },
  };
  const { client, close } = serve(chat);
  try {
    const ac = new AbortController();
    const s = await client.chat.completions.create(
      { model: "m", messages: user, stream: true },
      { signal: ac.signal },
    );
    let got = 0;
    // The openai client ends the iteration quietly once its signal aborts.
    for await (const _ of s) {
      if (++got === 3) ac.abort();
    }
    assert.ok(got >= 3);
    // The next request gets the slot although the first reply had 10000 characters to go.
    const next = await Promise.race([
      client.chat.completions.create({ model: "m", messages: user, max_tokens: 1 }).then(() =>
        "ok"
      ),
      new Promise((r) => setTimeout(() => r("stuck"), 5000)),
    ]);
    assert.equal(closed >= 1, true);
    assert.notEqual(next, "stuck");
  } finally {
    await close();
  }
});

Deno.test("8 concurrent requests share batches and each gets the reply it gets alone", async () => {
  const chat = await tinyChat();
  const questions = ["Who are you?", "What is 2 + 2?", "Name a colour", "Hi", "Tell me a story"];
  const asks = Array.from({ length: 8 }, (_, i) => ({
    messages: [{ role: "user" as const, content: questions[i % questions.length] }],
    max_tokens: 4 + i,
  }));
  const want: string[] = [];
  for (const a of asks) want.push(await chat.reply(a.messages, { maxNewTokens: a.max_tokens }));
  for (const maxBatch of [8, 1]) {
    const engine = new Batcher(chat.model, { tokenizer: chat.tokenizer, maxBatch });
    const { client, close } = serve(chat, { engine });
    try {
      const got = await Promise.all(
        asks.map((a) => client.chat.completions.create({ model: "m", temperature: 0, ...a })),
      );
      got.forEach((r, i) => assert.equal(r.choices[0].message.content, want[i], `request ${i}`));
      const s = engine.stats;
      assert.equal(s.rows, 8);
      if (maxBatch === 1) assert.equal(s.batches, 8);
      else assert.ok(s.batches < 8 && s.maxRows > 1, `batches of ${JSON.stringify(s)}`);
    } finally {
      await close();
    }
  }
});

Deno.test("concurrent greedy and sampled requests at different temperatures share one batch", async () => {
  const chat = await tinyChat(true);
  const engine = new Batcher(chat.model, { tokenizer: chat.tokenizer });
  const { client, close } = serve(chat, { engine });
  try {
    const body = { model: "m", prompt: "Once upon a time", max_tokens: 10 };
    const asks = [{ temperature: 0 }, { temperature: 0.8, seed: 3 }, {
      temperature: 1.5,
      top_p: 0.9,
    }];
    const got = await Promise.all(asks.map((a) => client.completions.create({ ...body, ...a })));
    assert.deepEqual(engine.stats, {
      batches: 1,
      rows: 3,
      maxRows: 3,
      refills: 0,
      active: 0,
      waiting: 0,
    });
    // Greedy and seeded replies are what each gets alone.
    for (const i of [0, 1]) {
      const alone = await client.completions.create({ ...body, ...asks[i] });
      assert.equal(got[i].choices[0].text, alone.choices[0].text, `request ${i}`);
    }
    assert.equal(engine.stats.batches, 3);
    assert.ok(got.every((r) => r.usage!.completion_tokens > 0));
  } finally {
    await close();
  }
});

Deno.test("n sampled choices share one batch, differ, and a seed repeats them", async () => {
  const chat = await tinyChat(true);
  const engine = new Batcher(chat.model, { tokenizer: chat.tokenizer });
  const { client, close } = serve(chat, { engine });
  try {
    const body = { model: "m", prompt: "Once upon a time", max_tokens: 12, n: 4, temperature: 1.5 };
    const a = await client.completions.create({ ...body, seed: 5 });
    const b = await client.completions.create({ ...body, seed: 5 });
    const texts = a.choices.map((c) => c.text);
    assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2, 3]);
    assert.deepEqual(b.choices.map((c) => c.text), texts);
    assert.ok(new Set(texts).size > 1, `every choice was ${JSON.stringify(texts[0])}`);
    assert.deepEqual(engine.stats, {
      batches: 2,
      rows: 8,
      maxRows: 4,
      refills: 0,
      active: 0,
      waiting: 0,
    });
    assert.ok(a.usage!.completion_tokens > 0 && a.usage!.completion_tokens <= 4 * 12);
  } finally {
    await close();
  }
});

Deno.test("a client that leaves a batched stream ends its row and the GPU loop", async () => {
  const chat = await tinyChat();
  const engine = new Batcher(chat.model, { tokenizer: chat.tokenizer, chunk: 4 });
  const { client, close } = serve(chat, { engine });
  const g = gpu(), read = g.read;
  let reads = 0;
  g.read = (...args) => {
    reads++;
    return read.apply(g, args);
  };
  try {
    const ac = new AbortController();
    // This prompt runs to 480 greedy tokens without an EOS: 120 read-backs if nothing stops it.
    const s = await client.completions.create(
      { model: "m", prompt: "Once upon a time", max_tokens: 480, temperature: 0, stream: true },
      { signal: ac.signal },
    );
    let got = 0;
    for await (const _ of s) if (++got === 2) ac.abort();
    for (let i = 0; i < 500 && engine.stats.active > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(engine.stats.active, 0);
    await engine.idle();
    assert.ok(reads < 40, `${reads} read-backs: the batch went on after its row left`);
    const next = await client.completions.create({ model: "m", prompt: "Hi", max_tokens: 2 });
    assert.equal(next.choices.length, 1);
    assert.equal(engine.stats.batches, 2);
  } finally {
    g.read = read;
    await close();
  }
});

Deno.test("a reply longer than the model's context is refused with 400", async () => {
  const chat = await tinyChat();
  const { client, close } = serve(chat);
  try {
    await assert.rejects(
      client.chat.completions.create({ model: "m", messages: user, max_tokens: 100_000 }),
      (e: unknown) =>
        e instanceof OpenAI.BadRequestError && e.code === "context_length_exceeded" &&
        e.param === "max_tokens",
    );
    const long = "word ".repeat(600);
    await assert.rejects(
      client.completions.create({ model: "m", prompt: long, max_tokens: 1 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /context holds 512/.test(e.message),
    );
  } finally {
    await close();
  }
});

Deno.test("API_MAX_BATCH sets the rows per batch", () => {
  assert.equal(apiMaxBatch(() => undefined), undefined);
  assert.equal(apiMaxBatch(() => "4"), 4);
  assert.throws(() => apiMaxBatch(() => "0"), RangeError);
  assert.throws(() => apiMaxBatch(() => "many"), /API_MAX_BATCH "many"/);
});

Deno.test("the API binds to loopback unless API_HOST asks otherwise", () => {
  const args = { api_host: "0.0.0.0", api_port: 8000 };
  assert.deepEqual(apiAddress(args, () => undefined), { hostname: "127.0.0.1", port: 8000 });
  const env = { API_HOST: "0.0.0.0", API_PORT: "9001" } as Record<string, string>;
  assert.deepEqual(apiAddress(args, (n) => env[n]), { hostname: "0.0.0.0", port: 9001 });
  assert.throws(() => apiAddress(args, (n) => n === "API_PORT" ? "eighty" : undefined), RangeError);
  assert.equal(isLoopback("127.0.0.1"), true);
  assert.equal(isLoopback("0.0.0.0"), false);
});

addEventListener("unload", () => tiny.forEach((c) => c.release()));
