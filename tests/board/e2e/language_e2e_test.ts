// In a real browser: the language links switch the page to Chinese and back, with the tab labels
// taken from board/i18n.ts and the hyperparameter labels from board/field_labels.ts (each still
// showing its config key, and none overflowing its grid cell).
import assert from "node:assert/strict";
import { fieldLabel } from "../../../board/field_labels.ts";
import { type Lang, strings } from "../../../board/i18n.ts";
import { type Dom, e2eTest, openBoard, type Page, screenshot } from "./_browser.ts";

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

/** Label and key shown above the Train tab's `key` input. */
async function fieldHead(page: Page, key: string): Promise<{ label: string; key: string }> {
  const head = page.locator(`label.field:has(#f_${key}) .head`);
  return {
    label: (await head.locator(".label").innerText()).trim(),
    key: (await head.locator("code.key").innerText()).trim(),
  };
}

interface Box {
  getBoundingClientRect(): { left: number; right: number };
  readonly scrollWidth: number;
  readonly clientWidth: number;
  closest(selector: string): Box | null;
  readonly textContent: string | null;
}

/** In the page: how many field heads show, and those wider than their field (overflowing). */
function overflowingHeads(): { shown: number; over: string[] } {
  const d = (globalThis as unknown as Dom).document;
  const over: string[] = [];
  let shown = 0;
  for (const el of d.querySelectorAll("label.field .head") as Iterable<unknown>) {
    const head = el as Box, field = head.closest("label.field")!;
    const h = head.getBoundingClientRect(), f = field.getBoundingClientRect();
    if (h.right === 0 && h.left === 0) continue; // in a closed group or a hidden tab
    shown++;
    if (h.right > f.right + 1 || head.scrollWidth > head.clientWidth + 1) {
      over.push(head.textContent ?? "");
    }
  }
  return { shown, over };
}

/** Opens every hyperparameter group, then asserts the Train tab's field heads fit their cells. */
async function assertHeadsFit(page: Page, lang: Lang): Promise<void> {
  for (const group of await page.locator("#hparams details.group").all()) {
    await group.evaluate((el) => (el as unknown as { open: boolean }).open = true);
  }
  const { shown, over } = await page.evaluate(overflowingHeads);
  assert.ok(shown > 60, `${lang}: only ${shown} field labels measured`);
  assert.deepEqual(over, [], `${lang}: field labels overflow their cells`);
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
  const lrEn = fieldLabel("learning_rate", "en"), lrZh = fieldLabel("learning_rate", "zh");
  assert.notEqual(lrEn, lrZh, "learning_rate's label is translated");
  assert.deepEqual(await fieldHead(page, "learning_rate"), { label: lrEn, key: "learning_rate" });

  await switchTo(page, "zh");
  assert.equal(await page.getAttribute("html", "lang"), "zh");
  assert.deepEqual(await visibleLabels(page), zh);
  assert.deepEqual(await fieldHead(page, "learning_rate"), { label: lrZh, key: "learning_rate" });
  // Every hyperparameter group open, so the screenshot shows (and the check measures) them all.
  await assertHeadsFit(page, "zh");
  await screenshot(page, "lang_zh");

  await switchTo(page, "en");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.deepEqual(await visibleLabels(page), en);
  assert.deepEqual(await fieldHead(page, "learning_rate"), { label: lrEn, key: "learning_rate" });
  await assertHeadsFit(page, "en");
  await screenshot(page, "lang_en");
}, { timeoutMs: 60_000 });
