// In a real browser: the language links switch the page to Chinese and back, with the tab labels
// taken from board/i18n.ts.
import assert from "node:assert/strict";
import { type Lang, strings } from "../../../board/i18n.ts";
import { e2eTest, openBoard, type Page, screenshot } from "./_browser.ts";

const TABS = ["train", "eval", "chat", "export"] as const;

/** The label each tab button should show in `lang`, from the board's own table. */
function expectedLabels(lang: Lang): string[] {
  const table = strings(lang) as Record<string, string>;
  return TABS.map((tab) => {
    const label = table[`tab_${tab}`];
    assert.ok(label, `board/i18n.ts has no "tab_${tab}" string`);
    return label;
  });
}

async function visibleLabels(page: Page): Promise<string[]> {
  const out: string[] = [];
  for (const tab of TABS) {
    const button = page.locator(`[data-tab="${tab}"]`);
    assert.ok(await button.isVisible(), `the ${tab} tab button is visible`);
    out.push((await button.innerText()).trim());
  }
  return out;
}

async function switchTo(page: Page, lang: Lang): Promise<void> {
  const link = page.locator(`nav.langs a[data-lang="${lang}"]`);
  assert.equal(await link.getAttribute("href"), `/?lang=${lang}`);
  await Promise.all([page.waitForURL(`**/?lang=${lang}`), link.click()]);
  await page.waitForSelector("#dataset option", { state: "attached" });
}

e2eTest("board switches its language to Chinese and back from the language links", async (e) => {
  const { page } = e;
  const en = expectedLabels("en"), zh = expectedLabels("zh");
  // Otherwise the test could not tell the languages apart.
  TABS.forEach((tab, i) => assert.notEqual(en[i], zh[i], `tab_${tab} is translated`));

  await openBoard(e);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.deepEqual(await visibleLabels(page), en);

  await switchTo(page, "zh");
  assert.equal(await page.getAttribute("html", "lang"), "zh");
  assert.deepEqual(await visibleLabels(page), zh);
  await screenshot(page, "lang_zh");

  await switchTo(page, "en");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.deepEqual(await visibleLabels(page), en);
}, { timeoutMs: 60_000 });
