// Shared pieces of the stage tests: a character tokenizer with a plain chat template whose replies
// end with EOS, the data arguments, preference pairs, and the tiny fixture checkpoints.
import type { PreferenceExample } from "../../../core/data/conversation.ts";
import { BOS, defineTemplate } from "../../../core/data/template.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import { loadModel } from "../../../core/model/load.ts";
import { Registry } from "../../../core/registry.ts";
import type { StageArgs } from "../../../core/stage/mod.ts";
import * as T from "../../../core/tensor/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { CharTokenizer } from "../../core/data/_char_tokenizer.ts";

export const template = defineTemplate({
  name: "char_test",
  formatUser: ["U:{{content}}\nA:"],
  formatAssistant: ["{{content}}", { special: "eos_token" }],
  formatPrefix: [BOS],
});
export const tokenizer = new CharTokenizer();

export const stageArgs: StageArgs = {
  cutoff_len: 64,
  train_on_prompt: false,
  mask_history: false,
  packing: undefined,
  neat_packing: false,
  enable_thinking: true,
};

export const pair = (prompt: string, chosen: string, rejected: string): PreferenceExample => ({
  messages: [{ role: "user", content: prompt }],
  chosen: { role: "assistant", content: chosen },
  rejected: { role: "assistant", content: rejected },
});

/** A tiny checkpoint of tests/fixtures/models (256-token vocabulary). */
export async function fixtureModel(name: string): Promise<Decoder> {
  await T.initGpu();
  const dir = new URL(`../../fixtures/models/${name}/`, import.meta.url).pathname;
  return (await loadModel(dir, new Registry("model", modelFamilies))).model;
}
