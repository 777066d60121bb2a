// Every examples/**/*.yaml validates with loadConfig and points at things that exist, with paths
// relative to the repository root (where the examples are run from, as in LlamaFactory).

import assert from "node:assert/strict";
import { type Args, loadConfig } from "../../core/config/mod.ts";
import { templatePlugins } from "../../plugins/templates/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
const templates = templatePlugins.flatMap((t) => [t.name, ...t.aliases ?? []]);

async function yamlFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await yamlFiles(dir, path));
    else if (/\.ya?ml$/.test(e.name)) out.push(path);
  }
  return out.sort();
}

const files = await yamlFiles(`${root}examples`);
const loaded = new Map<string, Args>();
async function load(file: string): Promise<Args> {
  if (!loaded.has(file)) {
    const { args, notes } = await loadConfig(`${root}examples/${file}`, [], {
      plugins: { template: templates },
    });
    // An example should need no key that llamaforge ignores.
    assert.deepEqual(notes, [], `examples/${file}`);
    loaded.set(file, args);
  }
  return loaded.get(file)!;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("examples/ holds the LlamaFactory-style examples of the embedded default", () => {
  for (
    const f of [
      "pretrain/tiny_pt.yaml",
      "train_lora/tiny_lora_sft.yaml",
      "train_lora/tiny_lora_pretrain.yaml",
      "train_qlora/tiny_qlora_sft.yaml",
      "train_full/tiny_full_sft.yaml",
      "merge_lora/tiny_lora_sft.yaml",
      "inference/tiny_lora_sft.yaml",
    ]
  ) assert.ok(files.includes(f), `examples/${f} is missing`);
});

for (const file of files) {
  Deno.test(`loadConfig() validates examples/${file} against the repository`, async () => {
    const args = await load(file);
    const model = `${root}${args.model_name_or_path}`;
    assert.ok(
      await exists(`${model}/config.json`),
      `${args.model_name_or_path} has no config.json`,
    );
    assert.ok(await exists(`${model}/tokenizer.json`));
    if (args.dataset || args.eval_dataset) {
      const info = JSON.parse(
        await Deno.readTextFile(`${root}${args.dataset_dir}/dataset_info.json`),
      );
      for (const name of [...args.dataset ?? [], ...args.eval_dataset ?? []]) {
        assert.ok(
          name in info,
          `dataset "${name}" is not in ${args.dataset_dir}/dataset_info.json`,
        );
        assert.ok(await exists(`${root}${args.dataset_dir}/${info[name].file_name}`));
      }
    }
    if (args.do_train) {
      assert.ok(args.output_dir.startsWith("saves/"), "training writes under saves/");
      if (args.stage !== "pt") assert.ok(args.template, "a chat stage names its template");
    }
  });
}

Deno.test("every adapter an example loads is the output of a LoRA training example", async () => {
  const lora = new Set<string>();
  for (const f of files) {
    const a = await load(f);
    if (a.do_train && a.finetuning_type === "lora") lora.add(a.output_dir);
  }
  let users = 0;
  for (const f of files) {
    for (const adapter of (await load(f)).adapter_name_or_path ?? []) {
      users++;
      assert.ok(lora.has(adapter), `examples/${f} loads "${adapter}", which no example trains`);
    }
  }
  assert.ok(users >= 2, "the merge and inference examples load an adapter");
});

Deno.test("the LoRA SFT example stays small enough for a CPU adapter in CI", async () => {
  const a = await load("train_lora/tiny_lora_sft.yaml");
  const info = JSON.parse(await Deno.readTextFile(`${root}${a.dataset_dir}/dataset_info.json`));
  let examples = 0;
  for (const name of a.dataset!) {
    const rows = JSON.parse(
      await Deno.readTextFile(`${root}${a.dataset_dir}/${info[name].file_name}`),
    ) as unknown[];
    examples += Math.min(rows.length, a.max_samples ?? Infinity);
  }
  const perStep = a.per_device_train_batch_size * a.gradient_accumulation_steps;
  const steps = a.max_steps > 0
    ? a.max_steps
    : Math.ceil(Math.ceil(examples / perStep) * a.num_train_epochs);
  assert.ok(steps <= 300, `${steps} optimizer steps`);
  assert.ok(a.cutoff_len <= 256, `cutoff_len ${a.cutoff_len}`);
});

Deno.test("the QLoRA example is the LoRA SFT example over a 4-bit base", async () => {
  const q = await load("train_qlora/tiny_qlora_sft.yaml");
  const l = await load("train_lora/tiny_lora_sft.yaml");
  assert.equal(q.quantization_bit, 4);
  assert.equal(l.quantization_bit, undefined);
  for (
    const k of ["dataset", "template", "lora_rank", "learning_rate", "additional_target"] as const
  ) {
    assert.deepEqual(q[k], l[k], k);
  }
  assert.notEqual(q.output_dir, l.output_dir);
});

Deno.test("the pre-training example trains the embedded default from scratch on the corpus and dialogues", async () => {
  const a = await load("pretrain/tiny_pt.yaml");
  assert.equal(a.stage, "pt");
  assert.equal(a.finetuning_type, "full");
  assert.equal(a.model_name_or_path, "models/tiny-llama");
  assert.deepEqual(a.dataset, ["pt_corpus", "pt_dialogues"]);
  assert.equal(a.train_from_scratch, true);
  const cfg = JSON.parse(await Deno.readTextFile(`${root}models/tiny-llama/config.json`));
  assert.ok(a.cutoff_len <= cfg.max_position_embeddings);
});
