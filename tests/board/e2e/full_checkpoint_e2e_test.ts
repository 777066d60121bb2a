// In a real browser: with method full, a checkpoint picked in the top bar replaces the model (as
// in LlamaBoard) instead of being sent as an adapter; with lora it is sent as an adapter.
import assert from "node:assert/strict";
import { join } from "node:path";
import { e2eTest, openBoard } from "./_browser.ts";

async function previewYaml(page: import("./_browser.ts").Page): Promise<string> {
  await page.click("#preview-cmd");
  await page.waitForSelector("#command", { state: "visible", timeout: 10_000 });
  return await page.locator("#command").innerText();
}

e2eTest(
  "a full checkpoint picked in the top bar becomes the model; an adapter stays an adapter",
  async (e) => {
    const { page } = e;
    for (const [method, marker] of [["full", "config.json"], ["lora", "adapter_config.json"]]) {
      const dir = join(e.root, "saves", "tiny-llama", method, "run1");
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, marker), "{}");
    }
    await openBoard(e);
    await page.selectOption("#dataset", ["identity"]);

    await page.selectOption("#finetuning_type", "full");
    await page.click("#adapter-refresh");
    await page.waitForSelector('#adapter_name_or_path option[value="saves/tiny-llama/full/run1"]', {
      state: "attached",
      timeout: 10_000,
    });
    await page.selectOption("#adapter_name_or_path", ["saves/tiny-llama/full/run1"]);
    const full = await previewYaml(page);
    assert.match(full, /model_name_or_path: saves\/tiny-llama\/full\/run1/);
    assert.doesNotMatch(full, /adapter_name_or_path/);

    await page.selectOption("#finetuning_type", "lora");
    await page.click("#adapter-refresh");
    await page.waitForSelector('#adapter_name_or_path option[value="saves/tiny-llama/lora/run1"]', {
      state: "attached",
      timeout: 10_000,
    });
    await page.selectOption("#adapter_name_or_path", ["saves/tiny-llama/lora/run1"]);
    const lora = await previewYaml(page);
    assert.match(lora, /model_name_or_path: models\/tiny-llama/);
    assert.match(lora, /adapter_name_or_path: saves\/tiny-llama\/lora\/run1/);
  },
  { timeoutMs: 60_000 },
);
