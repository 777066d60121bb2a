// In a real browser: benchmark the tiny model on the bundled tinyqa task from the Evaluate &
// Predict tab and see its accuracies in the metrics table, then export it from the Export tab and
// see the folder it wrote.
import assert from "node:assert/strict";
import { join } from "node:path";
import { e2eTest, openBoard, screenshot, waitForStatus } from "./_browser.ts";

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
  await screenshot(page, "export_done");
}, { timeoutMs: 180_000 });
