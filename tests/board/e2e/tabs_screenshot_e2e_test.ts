// In a real browser: each of the four tabs shows its own pane and hides the others; a full-page
// screenshot of each goes to tests/board/e2e/output/tab_<name>.png to be looked at.
import assert from "node:assert/strict";
import { e2eTest, openBoard, screenshot } from "./_browser.ts";

const TABS = ["train", "eval", "chat", "export"] as const;

e2eTest("board shows one pane per tab and screenshots each of them", async (e) => {
  const { page } = e;
  await openBoard(e);
  for (const tab of TABS) {
    await page.click(`[data-tab="${tab}"]`);
    await page.waitForSelector(`#tab-${tab}`, { state: "visible", timeout: 5_000 });
    for (const other of TABS.filter((t) => t !== tab)) {
      assert.equal(await page.locator(`#tab-${other}`).isVisible(), false, `#tab-${other} hidden`);
    }
    const path = await screenshot(page, `tab_${tab}`);
    assert.ok((await Deno.stat(path)).size > 1000, `${path} holds a picture`);
  }
}, { timeoutMs: 60_000 });
