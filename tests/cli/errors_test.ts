// Every config-driven command fails before any GPU work, naming the key, the path and what would
// be right, on: a wrong model path, a missing dataset_dir or task_dir, an export_dir that is a
// file, a missing or broken adapter, an adapter made for another base model, and a template the
// tokenizer cannot serve. The commands run in-process; the bad fixtures are built in a temp dir.

import assert from "node:assert/strict";
import { join } from "node:path";
import { apiCommand } from "../../cli/api.ts";
import { chatCommand } from "../../cli/chat.ts";
import { evalCommand } from "../../cli/eval.ts";
import { exportCommand } from "../../cli/export.ts";
import { type CommandName, preflight } from "../../cli/_preflight.ts";
import { trainCommand } from "../../cli/train.ts";
import { parseConfig } from "../../core/config/mod.ts";
import {
  checkTemplateTokens,
  missingTemplateTokens,
  type TemplateCheckTokenizer,
} from "../../core/data/template_check.ts";
import {
  checkAdapterBase,
  peftLoraConfig,
  sameModel,
  writePeftAdapter,
} from "../../core/io/peft.ts";
import type { TensorEntry } from "../../core/io/safetensors_write.ts";
import { Tokenizer } from "../../core/io/tokenizer.ts";
import { ChatModel } from "../../core/infer/chat.ts";
import { initGpu } from "../../core/tensor/mod.ts";
import { builtinRegistries } from "../../plugins/mod.ts";

const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const TINY = join(root, "models/tiny-llama");
const reg = builtinRegistries();
const COMMANDS: Record<CommandName, (argv: string[]) => Promise<number>> = {
  train: trainCommand,
  chat: chatCommand,
  api: apiCommand,
  eval: evalCommand,
  export: exportCommand,
};
const ALL = Object.keys(COMMANDS) as CommandName[];
/** Commands that load adapter_name_or_path (train continues training the last one). */
const WITH_ADAPTERS = ALL;

const tmp = await Deno.makeTempDir({ prefix: "llamaforge_errors_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const configs: Record<CommandName, string> = {} as Record<CommandName, string>;
const common = `model_name_or_path: ${TINY}\ntemplate: llama3\nfinetuning_type: lora\n`;
const bodies: Record<CommandName, string> = {
  train:
    `${common}stage: sft\ndo_train: true\ndataset: identity\ndataset_dir: ${root}/data\noutput_dir: ${tmp}/train_out\n`,
  chat: common,
  api: common,
  eval: `${common}task: tinyqa_test\ntask_dir: ${root}/evaluation\n`,
  export: `${common}export_dir: ${tmp}/export_out\n`,
};
for (const c of ALL) {
  configs[c] = join(tmp, `${c}.yaml`);
  await Deno.writeTextFile(configs[c], bodies[c]);
}

/** Runs `command` with its config and `overrides`; returns the error it threw and its stderr. */
async function fails(command: CommandName, overrides: string[]): Promise<Error> {
  const err = console.error;
  console.error = () => {};
  try {
    await COMMANDS[command]([configs[command], ...overrides]);
  } catch (e) {
    return e as Error;
  } finally {
    console.error = err;
  }
  throw new assert.AssertionError({ message: `${command} ${overrides.join(" ")} did not fail` });
}

function f32(name: string, shape: number[]): TensorEntry {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: "F32", shape, data: Float32Array.from({ length: n }, (_, i) => i * 1e-3) };
}

/** A LoRA adapter on q_proj and v_proj of `layers` layers; `qIn` is q_proj's in-features. */
async function adapter(
  name: string,
  opts: { layers?: number; qIn?: number; base?: string } = {},
): Promise<string> {
  const dir = join(tmp, name), r = 4;
  const tensors: TensorEntry[] = [];
  for (let l = 0; l < (opts.layers ?? 4); l++) {
    const p = `base_model.model.model.layers.${l}.self_attn`;
    tensors.push(f32(`${p}.q_proj.lora_A.weight`, [r, opts.qIn ?? 64]));
    tensors.push(f32(`${p}.q_proj.lora_B.weight`, [64, r]));
    tensors.push(f32(`${p}.v_proj.lora_A.weight`, [r, 64]));
    tensors.push(f32(`${p}.v_proj.lora_B.weight`, [32, r]));
  }
  const config = peftLoraConfig({
    r,
    target_modules: ["q_proj", "v_proj"],
    base_model_name_or_path: opts.base ?? "models/tiny-llama",
  });
  await writePeftAdapter(dir, { config, tensors });
  return dir;
}

const good = await adapter("good");
const wrongShape = await adapter("wrong_shape", { qIn: 32, base: "org/other-model" });
const fewerLayers = await adapter("two_layers", { layers: 2 });
const otherName = await adapter("other_name", { base: "meta-llama/Llama-3.2-1B" });
const noConfig = join(tmp, "no_config");
await Deno.mkdir(noConfig);
await Deno.copyFile(
  join(good, "adapter_model.safetensors"),
  join(noConfig, "adapter_model.safetensors"),
);
const noWeights = join(tmp, "no_weights");
await Deno.mkdir(noWeights);
await Deno.copyFile(join(good, "adapter_config.json"), join(noWeights, "adapter_config.json"));
const aFile = join(tmp, "a_file.txt");
await Deno.writeTextFile(aFile, "not a folder\n");
const configOnly = join(tmp, "config_only");
await Deno.mkdir(configOnly);
await Deno.copyFile(join(TINY, "config.json"), join(configOnly, "config.json"));
const emptyDir = join(tmp, "empty");
await Deno.mkdir(emptyDir);

Deno.test("every command names model_name_or_path, the missing folder and a near one", async () => {
  const bad = join(root, "models/tiny-lama");
  for (const c of ALL) {
    const e = await fails(c, [`model_name_or_path=${bad}`]);
    assert.ok(e instanceof Deno.errors.NotFound, `${c}: ${e}`);
    assert.match(e.message, /^Cannot load model_name_or_path "/, c);
    assert.ok(e.message.includes(`"${bad}": the folder does not exist`), `${c}: ${e.message}`);
    assert.match(e.message, /config\.json, model\.safetensors .* and tokenizer\.json/, c);
    assert.ok(e.message.includes(`did you mean "${TINY}"?`), `${c}: ${e.message}`);
  }
});

Deno.test("every command says a hub id must be downloaded first", async () => {
  for (const c of ALL) {
    const e = await fails(c, ["model_name_or_path=Qwen/Qwen2.5-0.5B"]);
    assert.match(e.message, /model_name_or_path "Qwen\/Qwen2\.5-0\.5B": the folder does not exist/);
    assert.match(e.message, /download "Qwen\/Qwen2\.5-0\.5B" first/, c);
  }
});

Deno.test("every command names model_name_or_path when it is a file", async () => {
  for (const c of ALL) {
    const e = await fails(c, [`model_name_or_path=${aFile}`]);
    assert.ok(e instanceof TypeError, `${c}: ${e}`);
    assert.ok(
      e.message.startsWith(`Cannot load model_name_or_path "${aFile}": it is a file, not a folder`),
      `${c}: ${e.message}`,
    );
  }
});

Deno.test("every command lists the files model_name_or_path lacks", async () => {
  for (const c of ALL) {
    const e = await fails(c, [`model_name_or_path=${configOnly}`]);
    // export copies a tokenizer when there is one but needs none.
    const lacks = c === "export" ? "model.safetensors;" : "model.safetensors, no tokenizer.json;";
    assert.ok(e.message.includes(`"${configOnly}": it has no ${lacks}`), `${c}: ${e.message}`);
    const e2 = await fails(c, [`model_name_or_path=${emptyDir}`]);
    assert.ok(e2.message.includes(`"${emptyDir}": it has no config.json`), `${c}: ${e2.message}`);
  }
  // An adapter given as the model: the hint points at adapter_name_or_path and its base.
  const e3 = await fails("chat", [`model_name_or_path=${good}`]);
  assert.ok(
    e3.message.includes(
      `it is a PEFT adapter: set adapter_name_or_path to it and model_name_or_path to its base model ("models/tiny-llama")`,
    ),
    e3.message,
  );
  // train_from_scratch needs config.json and a tokenizer, not weights.
  const e = await fails("train", [`model_name_or_path=${configOnly}`, "train_from_scratch=true"]);
  assert.ok(e.message.includes("it has no tokenizer.json;"), e.message);
});

Deno.test("train and eval --do_predict name dataset_dir when it is missing or lacks dataset_info.json", async () => {
  const missing = join(tmp, "no_data");
  const predict = ["do_predict=true", "predict_with_generate=true", "eval_dataset=identity"];
  for (const [c, extra] of [["train", []], ["eval", predict]] as const) {
    const e = await fails(c, [`dataset_dir=${missing}`, ...extra]);
    assert.ok(
      e.message.startsWith(`Cannot read dataset_dir "${missing}": the folder does not exist`),
      `${c}: ${e.message}`,
    );
    assert.match(e.message, /dataset_info\.json/);
    const e2 = await fails(c, [`dataset_dir=${emptyDir}`, ...extra]);
    assert.ok(e2.message.includes(`"${emptyDir}": it has no dataset_info.json`), e2.message);
  }
  const e = await fails("train", ["dataset=identiti"]);
  assert.match(e.message, /Cannot find dataset "identiti" .*did you mean "identity"\?/);
});

Deno.test("eval names task_dir when it is missing and lists the tasks it holds", async () => {
  const missing = join(tmp, "no_tasks");
  const e = await fails("eval", [`task_dir=${missing}`]);
  assert.ok(
    e.message.startsWith(`Cannot read task_dir "${missing}": the folder does not exist`),
    e.message,
  );
  const e2 = await fails("eval", ["task=mmlu_test"]);
  assert.match(
    e2.message,
    /Cannot find task "mmlu_test" in task_dir ".*evaluation": .*mmlu\/mapping\.json does not exist; expected one of "tinyqa_test"/,
  );
});

Deno.test("export refuses an export_dir that is a file or the model it reads, before writing", async () => {
  const e = await fails("export", [`export_dir=${aFile}`]);
  assert.ok(
    e.message.startsWith(`Cannot export to export_dir "${aFile}": it is a file`),
    e.message,
  );
  assert.equal(await Deno.readTextFile(aFile), "not a folder\n");
  const e2 = await fails("export", [`export_dir=${TINY}`]);
  assert.match(e2.message, /export_dir ".*tiny-llama": it is the model_name_or_path being read/);
});

Deno.test("every command names adapter_name_or_path when the adapter folder or its files are missing", async () => {
  const missing = join(tmp, "no_adapter");
  for (const c of WITH_ADAPTERS) {
    const e = await fails(c, [`adapter_name_or_path=${missing}`]);
    assert.ok(
      e.message.startsWith(
        `Cannot read adapter_name_or_path "${missing}": the folder does not exist; a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors`,
      ),
      `${c}: ${e.message}`,
    );
    const e2 = await fails(c, [`adapter_name_or_path=${noConfig}`]);
    assert.ok(
      e2.message.includes(`"${noConfig}": the folder has no adapter_config.json`),
      e2.message,
    );
    const e3 = await fails(c, [`adapter_name_or_path=${noWeights}`]);
    assert.ok(
      e3.message.includes(`"${noWeights}": the folder has no adapter_model.safetensors`),
      e3.message,
    );
    const e4 = await fails(c, [`adapter_name_or_path=${aFile}`]);
    assert.ok(e4.message.includes(`"${aFile}": it is a file, not a folder`), e4.message);
  }
});

Deno.test("with several adapters the bad one is named with its place", async () => {
  for (const c of WITH_ADAPTERS) {
    const e = await fails(c, [`adapter_name_or_path=${good},${noConfig}`]);
    assert.ok(
      e.message.startsWith(`Cannot read adapter_name_or_path "${noConfig}" (adapter 2 of 2)`),
      `${c}: ${e.message}`,
    );
  }
});

Deno.test("every command refuses an adapter whose shapes fit another base, naming module and shapes", async () => {
  for (const c of WITH_ADAPTERS) {
    const e = await fails(c, [`adapter_name_or_path=${good},${wrongShape}`]);
    assert.ok(e instanceof TypeError, `${c}: ${e}`);
    assert.ok(
      e.message.startsWith(
        `Cannot load adapter_name_or_path "${wrongShape}" (adapter 2 of 2) on "${TINY}": module "model.layers.0.self_attn.q_proj" has in-features 32 in the adapter (lora_A [4, 32]) but 64 in the base (weight [64, 64])`,
      ),
      `${c}: ${e.message}`,
    );
    assert.match(e.message, /trained on another base model \("org\/other-model"\)/);
    const e2 = await fails(c, [`adapter_name_or_path=${fewerLayers}`]);
    assert.match(
      e2.message,
      /has no LoRA weights for "model\.layers\.2\.self_attn\.q_proj" and 3 more modules, which its target_modules \["q_proj","v_proj"\] select in the base/,
    );
  }
});

Deno.test("preflight() passes a fitting adapter and warns when base_model_name_or_path names another model", async () => {
  const args = (extra: string) =>
    parseConfig(`model_name_or_path: ${TINY}\ntemplate: llama3\n${extra}`).args;
  assert.deepEqual(await preflight(args(`adapter_name_or_path: ${good}\n`), reg, "chat"), []);
  const warnings = await preflight(args(`adapter_name_or_path: ${otherName}\n`), reg, "chat");
  assert.equal(warnings.length, 1);
  assert.ok(
    warnings[0].startsWith(
      `adapter_name_or_path "${otherName}" was trained on "meta-llama/Llama-3.2-1B"`,
    ),
    warnings[0],
  );
  assert.ok(sameModel("models/tiny-llama", `${TINY}/`));
  assert.ok(sameModel("TinyOrg/Tiny-Llama", "/elsewhere/tiny-llama"));
  assert.ok(!sameModel("meta-llama/Llama-3.2-1B", TINY));
});

Deno.test("checkAdapterBase() passes every PEFT fixture on its base and refuses it on another", async () => {
  const fixtures = join(root, "tests/fixtures/peft");
  const cases: { name: string; base: string }[] = [];
  for await (const e of Deno.readDir(fixtures)) {
    const c = JSON.parse(await Deno.readTextFile(join(fixtures, e.name, "case.json")));
    cases.push({ name: e.name, base: join(root, c.base) });
  }
  assert.ok(cases.length >= 5);
  const family = async (dir: string) =>
    reg.models.get(JSON.parse(await Deno.readTextFile(join(dir, "config.json"))).model_type);
  for (const { name, base } of cases) {
    const f = await family(base);
    const opts = { transposed: (n: string) => f.transposeOnLoad?.(n) ?? false };
    await checkAdapterBase(join(fixtures, name, "adapter"), base, opts);
  }
  // The small fixtures share their shapes, so the bundled model is the other base here.
  await assert.rejects(
    checkAdapterBase(join(fixtures, "llama_lora_qv", "adapter"), TINY),
    /has no LoRA weights for "model\.layers\.2\.self_attn\.q_proj"/,
  );
  await assert.rejects(
    checkAdapterBase(join(fixtures, "qwen2_all", "adapter"), TINY),
    /in-features 128 in the adapter \(lora_A \[4, 128\]\) but 192 in the base/,
  );
  await assert.rejects(
    checkAdapterBase(join(fixtures, "gpt2_all", "adapter"), TINY),
    /it adapts module "transformer\.h\.0\.attn\.c_attn", which the base model does not have/,
  );
});

Deno.test("every command names the template, the tokens the tokenizer lacks and a template it serves", async () => {
  for (const c of ALL) {
    const e = await fails(c, ["template=qwen"]);
    assert.ok(e instanceof TypeError, `${c}: ${e}`);
    assert.equal(
      e.message,
      `Cannot use template "qwen" with the tokenizer of "${TINY}": it has no single token for "<|im_start|>", "<|im_end|>", which the template writes as special tokens; set "template" to one it serves: "llama3"`,
      c,
    );
  }
  const e = await fails("chat", ["template=gemma"]);
  assert.match(e.message, /"<start_of_turn>", "<end_of_turn>"/);
});

Deno.test("missingTemplateTokens() reads markers, stop words and token slots; text templates pass plain tokenizers", async () => {
  const tk = await Tokenizer.load(TINY);
  const t = (n: string) => reg.templates.get(n);
  assert.deepEqual(missingTemplateTokens(t("llama3"), tk), []);
  assert.deepEqual(missingTemplateTokens(t("phi"), tk), [
    "<|system|>",
    "<|end|>",
    "<|user|>",
    "<|assistant|>",
  ]);
  // A tokenizer with only <s>-style specials (TinyLlama-Chat, Zephyr) reads Zephyr's tags as text.
  const plain = (specials: string[]): TemplateCheckTokenizer => ({
    encode: (s) => specials.includes(s) ? [0] : [...s].map((ch) => ch.charCodeAt(0)),
    specialTokenIds: specials.map((_, i) => i),
    idToToken: (id) => specials[id],
  });
  assert.deepEqual(missingTemplateTokens(t("zephyr"), plain(["<s>", "</s>"])), []);
  assert.deepEqual(missingTemplateTokens(t("zephyr"), plain(["<s>", "<|endoftext|>"])), [
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
  ]);
  // Templates that name no special token serve every tokenizer.
  for (const n of ["default", "alpaca", "vicuna", "llama2", "mistral", "empty"]) {
    assert.deepEqual(missingTemplateTokens(t(n), plain([])), [], n);
  }
  const e = (() => {
    try {
      checkTemplateTokens(t("chatml"), tk, { given: false, source: "m" });
    } catch (e) {
      return e as Error;
    }
  })();
  assert.match(
    e!.message,
    /^Cannot use template "chatml" \(the model's default, as "template" is not set\)/,
  );
  assert.match(e!.message, /set "template" to the chat template this model was trained with$/);
});

Deno.test("ChatModel.load() (the board's and the API's path) refuses a template the tokenizer cannot serve", async () => {
  await initGpu();
  const { args } = parseConfig(`model_name_or_path: ${TINY}\ntemplate: chatml\n`);
  await assert.rejects(
    ChatModel.load(args, reg),
    (e: Error) =>
      e instanceof TypeError &&
      e.message.startsWith(`Cannot use template "chatml" with the tokenizer of "${TINY}"`) &&
      e.message.includes(`set "template" to one it serves: "llama3"`),
  );
});
