// In a real browser: start a long LoRA run, reload the page once training is under way (it must
// reattach: running, with the loss points so far), abort it, and check the page, the server's
// state and the process table all agree that it stopped.
import assert from "node:assert/strict";
import { strings } from "../../../board/i18n.ts";
import {
  e2eTest,
  lossPoints,
  openBoard,
  processesIn,
  runView,
  screenshot,
  setField,
  since,
  waitForStatus,
} from "./_browser.ts";

e2eTest(
  "board reattaches to a running LoRA run after a reload, aborts it and leaves no child",
  async (e) => {
    const { page } = e;
    const t0 = performance.now();
    await openBoard(e);
    // Stage dpo lists the ranking datasets alone; sft brings the others back.
    const listed = `[...document.querySelectorAll("#dataset option")].map((o) => o.value).join()`;
    await page.selectOption("#stage", "dpo");
    await page.waitForFunction(`${listed} === "dpo_demo"`, null, { timeout: 10_000 });
    await page.selectOption("#stage", "sft");
    await page.waitForFunction(`${listed}.split(",").includes("identity")`, null, {
      timeout: 10_000,
    });
    assert.ok(!(await page.evaluate(listed) as string).includes("dpo_demo"));
    await page.selectOption("#finetuning_type", "lora");
    await page.selectOption("#dataset", ["identity"]);
    await setField(page, "max_steps", "100000");
    await setField(page, "logging_steps", "1");
    await setField(page, "cutoff_len", "64");
    await setField(page, "per_device_train_batch_size", "2");
    await page.fill("#output_dir", "saves/tiny-llama/lora/e2e_abort");
    await page.dispatchEvent("#output_dir", "change");

    await page.click("#start");
    await waitForStatus(page, "#run-status", { wanted: ["running"], timeoutMs: 15_000 });
    // Abort once training is under way (a loss point), not while the child starts.
    await page.waitForFunction(
      `(${runView})().points > 0`,
      null,
      { timeout: 60_000, polling: 100 },
    );
    assert.equal(await page.locator("#run-status").getAttribute("data-status"), "running");
    const children = await processesIn(e.root);
    assert.ok(children.length > 0, "the training child runs in the board's working folder");
    const before = await lossPoints(page);
    await page.reload();
    await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
    await page.waitForFunction(
      `(${runView})().points >= ${before}`,
      null,
      { timeout: 20_000, polling: 100 },
    );
    assert.equal(await page.locator("#run-status").getAttribute("data-status"), "running");
    assert.ok(await page.locator("#tab-train").isVisible(), "the run's tab is in front");
    console.log(
      `${await lossPoints(page)} loss point(s) after ${since(t0)} s and a reload; aborting`,
    );

    await page.click("#abort");
    // The board sends SIGTERM, then SIGKILL after 5 s.
    const end = await waitForStatus(page, "#run-status", {
      wanted: ["idle", "failed"],
      timeoutMs: 20_000,
    });
    console.log(`status ${end} after ${since(t0)} s`);
    // The page says the run was aborted, in its own words.
    const aborted = (strings("en") as Record<string, string>).aborted;
    assert.ok(aborted, 'board/i18n.ts has an "aborted" string');
    assert.equal((await page.locator("#run-status").innerText()).trim(), aborted);

    const state = await (await fetch(`${e.base}/api/runs/current`)).json();
    assert.equal(state.status, "idle");
    assert.equal(state.aborted, true);
    assert.notEqual(state.exitCode, 0);
    assert.deepEqual(await processesIn(e.root), [], "no process left in the working folder");
    for (const pid of children) {
      assert.ok(
        !(await Deno.stat(`/proc/${pid}`).then(() => true, () => false)),
        `pid ${pid} gone`,
      );
    }
    // The page lets a new run start.
    assert.equal(await page.locator("#start").isEnabled(), true);
    await screenshot(page, "train_aborted");
  },
  { timeoutMs: 120_000 },
);
