// The top bar's quantization select (LlamaBoard's "Quantization bit"): none, 8 or 4, enabled now
// that quantization_bit is a schema key, and its value reaches train, eval and export runs and the
// Chat tab's model load typed as a number.
import assert from "node:assert/strict";
import type { Args } from "../../core/config/schema.ts";
import { runConfig } from "../../board/run_config.ts";
import { builtinRegistries } from "../../plugins/mod.ts";
import { MODEL, serve } from "./_serve.ts";

Deno.test("board top bar offers quantization none, 8 and 4, all enabled", async () => {
  await using s = serve();
  const html = await (await s.get("/")).text();
  const select = html.match(/<select id="quantization_bit"[^>]*>(.*?)<\/select>/s);
  assert.ok(select, "the quantization select");
  const options = [...select[1].matchAll(/<option ([^>]*)>/g)].map((m) => m[1]);
  assert.deepEqual(options.map((o) => o.match(/value="([^"]*)"/)?.[1]), ["", "8", "4"]);
  assert.ok(options.every((o) => !/disabled/.test(o)), options.join(" | "));
  // One control for the key: the Train tab does not repeat it, but shows the other quant keys.
  assert.ok(!html.includes(`data-key="quantization_bit"`));
  for (const k of ["quantization_type", "double_quantization"]) {
    assert.ok(html.includes(`data-key="${k}"`), k);
  }
});

Deno.test("board runs and the chat load get quantization_bit from the top bar", async () => {
  const root = Deno.cwd();
  const form = { ...MODEL, quantization_bit: "4" };
  const train = runConfig("train", {
    ...form,
    stage: "sft",
    dataset: "identity",
    dataset_dir: "data",
    output_dir: "saves/_quant_test",
  }, { root });
  assert.equal(train.values.quantization_bit, 4);
  assert.match(train.yaml, /^quantization_bit: 4$/m);
  assert.match(train.command, /quantization_bit=4/);
  const evalRun = runConfig("eval", { ...form, task: "tinyqa", save_dir: "saves/_q" }, { root });
  assert.equal(evalRun.values.quantization_bit, 4);

  let seen: Args | undefined;
  await using s = serve({
    loadChat: (args) => {
      seen = args;
      return Promise.resolve({
        template: builtinRegistries().templates.get("llama3"),
        async *stream() {},
        release() {},
      });
    },
  });
  const res = await s.post("/api/chat/load", { ...form, quantization_bit: "8" });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(seen?.quantization_bit, 8);
  const bad = await s.post("/api/chat/load", { ...MODEL, quantization_bit: "3" });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /quantization_bit.*one of 8, 4/);
});
