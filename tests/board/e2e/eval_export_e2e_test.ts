// In a real browser: benchmark the tiny model on the bundled tinyqa task from the Evaluate &
// Predict tab and see its accuracies in the metrics table, then export it from the Export tab and
// see the folder it wrote; both runs' progress bars are determinate, with the child's counts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { e2eTest, openBoard, type Page, screenshot, waitForStatus } from "./_browser.ts";

/** The tab's bar at 100 with the last progress line's `done/total elapsed < remaining`. */
async function assertDeterminate(page: Page, prefix: string): Promise<void> {
  const bar = page.locator(`#${prefix}-progress`);
  assert.equal(await bar.getAttribute("max"), "100");
  assert.equal(await bar.evaluate((el) => (el as unknown as { value: number }).value), 100);
  const text = (await page.locator(`#${prefix}-progress-text`).textContent() ?? "").trim();
  const m = /^(\d+)\/(\d+) \d+:\d\d:\d\d < \d+:\d\d:\d\d$/.exec(text);
  assert.ok(m && Number(m[1]) === Number(m[2]) && Number(m[2]) > 0, `progress text "${text}"`);
}

e2eTest("board evaluates on tinyqa, shows the metrics, then exports the model", async (e) => {
  const { page } = e;
  await openBoard(e);
  await page.click('[data-tab="eval"]');
  await page.selectOption("#eval-mode", "eval");
  // The task list comes from evaluation/ in the working folder; the first *_test task is picked.
  await page.waitForFunction(
    `document.getElementById("eval_task").value.endsWith("_test")`,
    null,
    { timeout: 10_000 },
  );
  await page.fill("#eval_n_shot", "0");
  await page.dispatchEvent("#eval_n_shot", "change");
  await page.click("#eval-start");
  await waitForStatus(page, "#eval-status", {
    wanted: ["done"],
    timeoutMs: 90_000,
    errorSelector: "#eval-error",
  });
  assert.ok(await page.locator("#eval-metrics").isVisible(), "the metrics table shows");
  const rows = await page.locator("#eval-metrics tbody tr").allInnerTexts();
  assert.ok(rows.some((r) => /Average/i.test(r)), `an average row: ${rows}`);
  for (const r of rows) {
    const value = Number(r.split(/\s+/).at(-1));
    assert.ok(value >= 0 && value <= 100, `an accuracy in [0, 100]: "${r}"`);
  }
  await assertDeterminate(page, "eval");
  await screenshot(page, "eval_done");

  await page.click('[data-tab="export"]');
  await page.fill("#export_dir", "output/e2e_export");
  await page.dispatchEvent("#export_dir", "change");
  await page.click("#export-start");
  await waitForStatus(page, "#export-status", {
    wanted: ["done"],
    timeoutMs: 60_000,
    errorSelector: "#export-error",
  });
  const result = (await page.locator("#export-result").innerText()).trim();
  assert.match(result, /output\/e2e_export$/);
  const config = JSON.parse(await Deno.readTextFile(join(e.root, "output/e2e_export/config.json")));
  assert.equal(config.model_type, "llama");
  await assertDeterminate(page, "export");
  await screenshot(page, "export_done");
}, { timeoutMs: 180_000 });
