// In a real browser: LoRA-train the bundled tiny model on the identity set from the Train tab,
// watch the loss curve receive points while the run goes, then chat with the new adapter.
import assert from "node:assert/strict";
import {
  type Dom,
  e2eTest,
  lossPoints,
  openBoard,
  type Page,
  runView,
  screenshot,
  setField,
  since,
  waitForStatus,
} from "./_browser.ts";

const MAX_STEPS = 12;
const OUTPUT = "saves/tiny-llama/lora/e2e_train";

/** Sets a top-bar control that may be a <select> or a text <input>. */
async function choose(page: Page, selector: string, value: string): Promise<void> {
  const el = page.locator(selector);
  if (await el.evaluate((n) => n.tagName === "SELECT")) await el.selectOption(value);
  else {
    await el.fill(value);
    await el.dispatchEvent("change");
  }
}

/**
 * Clicks Load and waits for that load's answer and the status it leads to; returns what the page
 * sent.
 */
async function loadChat(page: Page): Promise<Record<string, string>> {
  const answered = page.waitForResponse(
    (r) => new URL(r.url()).pathname === "/api/chat/load",
    { timeout: 60_000 },
  );
  await page.click("#chat-load");
  const sent = JSON.parse((await answered).request().postData() ?? "{}");
  await waitForStatus(page, "#chat-status", {
    wanted: ["loaded"],
    timeoutMs: 10_000,
    errorSelector: "#chat-error",
  });
  return sent;
}

/**
 * Sends `text` from the Chat tab and returns the reply, after checking that the server streamed
 * it whole (deltas, then done, no error) and that the page shows it as the last assistant bubble.
 */
async function chatOnce(page: Page, text: string): Promise<string> {
  await page.fill("#chat-input", text);
  const replied = page.waitForResponse(
    (r) => new URL(r.url()).pathname === "/api/chat" && r.request().method() === "POST",
    { timeout: 60_000 },
  );
  await page.click("#chat-send");
  const res = await replied;
  const body = await res.text();
  assert.equal(res.status(), 200, body);
  assert.ok(!/^event: error$/m.test(body), body);
  assert.match(body, /^event: done$/m);
  const reply = [...body.matchAll(/^event: delta\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]))
    .join("").trim();
  assert.ok(reply.length > 0, "the model wrote something");
  await page.waitForFunction(
    (want) => {
      const d = (globalThis as unknown as Dom).document;
      const got = [...d.querySelectorAll("#chat-log .msg.assistant")].at(-1)?.textContent;
      return (got ?? "").includes(want);
    },
    reply,
    { timeout: 10_000 },
  );
  return reply;
}

e2eTest(
  "board trains a LoRA adapter in the browser, draws live loss and chats with it",
  async (e) => {
    const { page } = e;
    const t0 = performance.now();
    await openBoard(e);
    await choose(page, "#model_name_or_path", "models/tiny-llama");
    await page.selectOption("#finetuning_type", "lora");
    await page.selectOption("#stage", "sft");
    await page.selectOption("#dataset", ["identity"]);
    await setField(page, "max_steps", String(MAX_STEPS));
    await setField(page, "logging_steps", "1");
    await setField(page, "cutoff_len", "64");
    await setField(page, "per_device_train_batch_size", "2");
    await setField(page, "learning_rate", "0.005");
    await page.fill("#output_dir", OUTPUT);
    await page.dispatchEvent("#output_dir", "change");

    await page.click("#start");
    await waitForStatus(page, "#run-status", {
      wanted: ["running"],
      timeoutMs: 15_000,
      errorSelector: "#run-error",
    });
    // Live points: the chart grows while the run is still going, not only at the end.
    await page.waitForFunction(
      `(({ points, status }) => points > 0 && status === "running")((${runView})())`,
      null,
      { timeout: 60_000, polling: 100 },
    );
    console.log(`first loss point after ${since(t0)} s, ${await lossPoints(page)} drawn`);
    const end = await waitForStatus(page, "#run-status", {
      wanted: ["done", "failed", "idle"],
      timeoutMs: 90_000,
    });
    const error = await page.locator("#run-error").textContent();
    assert.equal(end, "done", `the run ended ${end}: ${error}`);
    console.log(`run done after ${since(t0)} s`);

    // Every logged loss is drawn: the server's state is the reference.
    const state = await (await fetch(`${e.base}/api/runs/current`)).json();
    const losses = state.logs.filter((l: { loss?: unknown }) => typeof l.loss === "number");
    assert.equal(losses.length, MAX_STEPS, "one loss per step with logging_steps 1");
    assert.equal(await lossPoints(page), losses.length);
    await screenshot(page, "train_done");

    await page.click('[data-tab="chat"]');
    await page.waitForSelector("#tab-chat", { state: "visible" });
    // Greedy and short: the same prompt then gives the same reply unless the weights differ.
    await page.uncheck('#tab-chat [data-field="do_sample"]');
    await page.fill('#tab-chat [data-field="max_new_tokens"]', "32");

    // The base model first, to tell the adapter's reply from it.
    await page.selectOption("#adapter_name_or_path", []);
    assert.ok(!(await loadChat(page)).adapter_name_or_path, "the base model loads alone");
    const base = await chatOnce(page, "Who are you?");

    // The new adapter is listed in the top bar after a refresh. The refresh keeps the selection
    // it started with, so the adapter is picked once its answer is in.
    const listed = page.waitForResponse(
      (r) => new URL(r.url()).pathname.startsWith("/api/adapters"),
      { timeout: 10_000 },
    );
    await page.click("#adapter-refresh");
    await listed;
    await page.waitForSelector(`#adapter_name_or_path option[value="${OUTPUT}"]`, {
      state: "attached",
      timeout: 10_000,
    });
    await page.selectOption("#adapter_name_or_path", [OUTPUT]);
    assert.equal((await loadChat(page)).adapter_name_or_path, OUTPUT);
    await page.click("#chat-clear");
    const tuned = await chatOnce(page, "Who are you?");
    console.log(
      `after ${since(t0)} s: base ${JSON.stringify(base)}, tuned ${JSON.stringify(tuned)}`,
    );
    assert.notEqual(tuned, base, "the adapter changes the greedy reply");
    await screenshot(page, "chat_reply");
  },
  { timeoutMs: 180_000 },
);
