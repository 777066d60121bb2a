// The Chat tab's server side with a stand-in engine (the tiny model rarely calls tools): tool
// calls in a reply come back as a tool_calls event, the system prompt, tools and generation
// settings reach the engine typed, and load/unload/status follow the model.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Args } from "../../core/config/schema.ts";
import type { ReplyOptions } from "../../core/infer/chat.ts";
import type { Message } from "../../core/data/conversation.ts";
import type { BoardChat } from "../../board/routes/chat.ts";
import { builtinRegistries } from "../../plugins/mod.ts";
import { MODEL, readEvents, serve } from "./_serve.ts";

const template = builtinRegistries().templates.get("llama3");

/** An engine that streams `reply` in three pieces and records what it was asked. */
function fakeChat(reply: string) {
  const seen: { messages: readonly Message[]; opts?: ReplyOptions }[] = [];
  let released = 0;
  const chat: BoardChat = {
    template,
    async *stream(messages, opts) {
      seen.push({ messages, opts });
      const n = Math.ceil(reply.length / 3);
      for (let i = 0; i < reply.length; i += n) yield reply.slice(i, i + n);
    },
    release() {
      released++;
    },
  };
  return { chat, seen, released: () => released };
}

Deno.test("board chat shows the tool calls of a reply and passes the settings on", async () => {
  const calls = [{ name: "get_weather", arguments: '{"city": "Paris"}' }];
  const reply = template.toolFormat.formatCalls(calls);
  const fake = fakeChat(reply);
  await using s = serve({ loadChat: () => Promise.resolve(fake.chat) });
  assert.equal((await (await s.get("/api/chat/status")).json()).status, "unloaded");
  const load = await s.post("/api/chat/load", {
    ...MODEL,
    adapter_name_or_path: "saves/_board_test_adapter",
  });
  assert.equal(load.status, 200, await load.clone().text());
  assert.equal((await (await s.get("/api/chat/status")).json()).status, "loaded");
  assert.match(await (await s.get("/")).text(), /id="chat-status" data-status="loaded"/);
  const tools = JSON.stringify([{ name: "get_weather", parameters: { type: "object" } }]);
  const res = await s.post("/api/chat", {
    messages: [{ role: "user", content: "Weather in Paris?" }],
    system: "Be brief.",
    tools,
    temperature: "0.3",
    top_k: "7",
    max_new_tokens: "16",
    do_sample: "false",
  });
  assert.equal(res.status, 200);
  const events = await readEvents(res);
  const text = events.filter((e) => e.event === "delta").map((e) => e.data).join("");
  assert.equal(text, reply);
  const tc = events.find((e) => e.event === "tool_calls");
  assert.ok(tc, JSON.stringify(events));
  const got = tc.data as { name: string; arguments: string }[];
  assert.equal(got[0].name, "get_weather");
  assert.deepEqual(JSON.parse(got[0].arguments), { city: "Paris" });
  assert.equal(events.at(-1)!.event, "done");
  assert.deepEqual(fake.seen[0].opts, {
    system: "Be brief.",
    tools,
    doSample: false,
    temperature: 0.3,
    topK: 7,
    maxNewTokens: 16,
  });
  await s.post("/api/chat/unload", {});
  assert.equal(fake.released(), 1);
  assert.equal((await (await s.get("/api/chat/status")).json()).status, "unloaded");
});

Deno.test("board chat sends no tool_calls for a plain reply and refuses bad settings", async () => {
  const fake = fakeChat("Hello there.");
  await using s = serve({ loadChat: () => Promise.resolve(fake.chat) });
  await s.post("/api/chat/load", MODEL);
  const res = await s.post("/api/chat", { messages: [{ role: "user", content: "hi" }] });
  const events = await readEvents(res);
  assert.ok(!events.some((e) => e.event === "tool_calls"));
  assert.deepEqual(fake.seen[0].opts, {});
  const bad = await s.post("/api/chat", {
    messages: [{ role: "user", content: "hi" }],
    temperature: "warm",
  });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /temperature "warm"/);
  const badTools = await s.post("/api/chat", {
    messages: [{ role: "user", content: "hi" }],
    tools: "[not json",
  });
  assert.equal(badTools.status, 400);
  // An adapter outside the roots is refused before any load.
  const out = await s.post("/api/chat/load", { ...MODEL, adapter_name_or_path: "/tmp/x" });
  assert.equal(out.status, 400);
});

Deno.test("board chat loads the model and adapters from the board's root, not the cwd", async () => {
  const root = await Deno.makeTempDir({ prefix: "board_chat_root_" });
  try {
    const fake = fakeChat("ok");
    const loaded: Args[] = [];
    await using s = serve({
      root,
      loadChat: (args) => {
        loaded.push(args);
        return Promise.resolve(fake.chat);
      },
    });
    const res = await s.post("/api/chat/load", {
      ...MODEL,
      adapter_name_or_path: "saves/a,saves/b/checkpoint-2",
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(loaded[0].model_name_or_path, join(root, "models/tiny-llama"));
    assert.deepEqual(loaded[0].adapter_name_or_path, [
      join(root, "saves/a"),
      join(root, "saves/b/checkpoint-2"),
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
