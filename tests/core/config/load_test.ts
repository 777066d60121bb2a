import assert from "node:assert/strict";
import { loadConfig, parseConfig, validateConfig } from "../../../core/config/mod.ts";

const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const MODEL = "model_name_or_path: tests/fixtures/models/llama\n";

async function yamlFile(text: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(path, text);
  return path;
}

/** The 1-based line of the first line of `text` that starts with `key:`. */
function lineOf(text: string, key: string): number {
  return text.split("\n").findIndex((l) => l.startsWith(`${key}:`)) + 1;
}

async function rejects(
  text: string,
  overrides: string[],
  cls: new (...args: never[]) => Error,
  ...parts: string[]
) {
  const path = await yamlFile(text);
  await assert.rejects(loadConfig(path, overrides), (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("loadConfig() validates LlamaFactory's llama3_lora_sft example", async () => {
  const path = `${fixtures}llama3_lora_sft.yaml`;
  const text = await Deno.readTextFile(path);
  const { args, notes } = await loadConfig(path);
  assert.equal(args.stage, "sft");
  assert.equal(args.finetuning_type, "lora");
  assert.equal(args.do_train, true);
  assert.deepEqual(args.lora_target, ["all"]);
  assert.deepEqual(args.dataset, ["identity", "alpaca_demo"]);
  assert.equal(args.learning_rate, 1e-4);
  assert.equal(args.gradient_accumulation_steps, 8);
  assert.equal(args.lora_alpha, args.lora_rank * 2);
  assert.equal(args.lr_scheduler_type, "cosine");
  for (const key of ["preprocessing_num_workers", "ddp_timeout", "trust_remote_code"]) {
    const note = notes.find((n) => n.startsWith(`"${key}"`));
    assert.ok(note, `no note for ${key}: ${notes.join("; ")}`);
    assert.ok(note.includes(`(line ${lineOf(text, key)})`), note);
  }
});

Deno.test("loadConfig() validates LlamaFactory's llama3_full_sft example", async () => {
  const { args, notes } = await loadConfig(`${fixtures}llama3_full_sft.yaml`);
  assert.equal(args.finetuning_type, "full");
  assert.equal(args.learning_rate, 1e-5);
  assert.ok(notes.some((n) => n.startsWith('"deepspeed"')), notes.join("; "));
});

Deno.test("loadConfig() fills LlamaFactory's defaults", async () => {
  const { args, notes } = await loadConfig(await yamlFile(MODEL));
  assert.deepEqual(notes, []);
  const expected = {
    stage: "sft",
    finetuning_type: "lora",
    lora_rank: 8,
    lora_alpha: 16,
    lora_dropout: 0,
    lora_target: ["all"],
    freeze_trainable_layers: 2,
    freeze_trainable_modules: ["all"],
    dataset_dir: "data",
    cutoff_len: 2048,
    mix_strategy: "concat",
    val_size: 0,
    learning_rate: 5e-5,
    num_train_epochs: 3,
    max_steps: -1,
    per_device_train_batch_size: 8,
    gradient_accumulation_steps: 1,
    lr_scheduler_type: "linear",
    adam_beta2: 0.999,
    max_grad_norm: 1,
    seed: 42,
    save_steps: 500,
    eval_strategy: "no",
    do_sample: true,
    temperature: 0.95,
    top_p: 0.7,
    top_k: 50,
    max_new_tokens: 1024,
    pref_beta: 0.1,
    n_shot: 5,
    lang: "en",
    task_dir: "evaluation",
    export_size: 5,
    export_device: "cpu",
  };
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual((args as Record<string, unknown>)[k], v, k);
  }
  assert.equal(args.dataset, undefined);
  assert.equal(args.max_samples, undefined);
});

Deno.test("loadConfig() applies key=value overrides with each field's type", async () => {
  const path = await yamlFile(MODEL + "lora_rank: 4\ndataset: identity\nlearning_rate: 1.0e-4\n");
  const { args } = await loadConfig(path, [
    "lora_rank=16",
    "--learning_rate=2e-5",
    "bf16=true",
    "lora_target=q_proj, v_proj",
    "dataset=a,b",
    "stage=pt",
    "template=123",
    "max_samples=null",
  ]);
  assert.equal(args.lora_rank, 16);
  assert.equal(args.lora_alpha, 32);
  assert.equal(args.learning_rate, 2e-5);
  assert.equal(args.bf16, true);
  assert.deepEqual(args.lora_target, ["q_proj", "v_proj"]);
  assert.deepEqual(args.dataset, ["a", "b"]);
  assert.equal(args.stage, "pt");
  assert.equal(args.template, "123");
  assert.equal(args.max_samples, undefined);
});

Deno.test("loadConfig() takes comma-separated strings and YAML lists alike", async () => {
  const path = await yamlFile(
    MODEL + "dataset: [identity, alpaca_demo]\nlora_target: ' q_proj ,v_proj'\n",
  );
  const { args } = await loadConfig(path);
  assert.deepEqual(args.dataset, ["identity", "alpaca_demo"]);
  assert.deepEqual(args.lora_target, ["q_proj", "v_proj"]);
  const probs = parseConfig(
    MODEL + "dataset: a,b\nmix_strategy: interleave_over\ninterleave_probs: 0.25, 0.75\n",
    {
      source: "c.yaml",
    },
  );
  assert.deepEqual(probs.args.interleave_probs, [0.25, 0.75]);
});

Deno.test("loadConfig() names the closest key for an unknown key", async () => {
  const text = MODEL + "lora_rank: 8\nlearning_rat: 1.0e-4\n";
  await rejects(
    text,
    [],
    TypeError,
    `Unknown key "learning_rat" in `,
    `config.yaml (line 3): did you mean "learning_rate"?`,
  );
  await rejects(
    MODEL,
    ["lora_rnk=8"],
    TypeError,
    `Unknown key "lora_rnk" in override "lora_rnk=8": did you mean "lora_rank"?`,
  );
  await rejects(
    MODEL + "zzzzzzzzzzzz: 1\n",
    [],
    TypeError,
    `Unknown key "zzzzzzzzzzzz"`,
    "not a LlamaFactory key",
  );
});

Deno.test("loadConfig() type errors name the key, the file and the line", async () => {
  const text = MODEL + "stage: sft\nlora_rank: eight\n";
  await rejects(
    text,
    [],
    TypeError,
    `"lora_rank" in `,
    "config.yaml (line 3)",
    "expected an integer",
    `got "eight"`,
  );
  await rejects(
    MODEL + "lora_rank: 0\n",
    [],
    RangeError,
    `"lora_rank"`,
    "(line 2)",
    "expected an integer >= 1, got 0",
  );
  await rejects(MODEL + "do_train: maybe\n", [], TypeError, `"do_train"`, "expected true or false");
  await rejects(
    MODEL + "stage: sftt\n",
    [],
    RangeError,
    `"stage"`,
    `expected one of "pt", "sft"`,
    `(did you mean "sft"?)`,
  );
  await rejects(
    MODEL + "learning_rate: [1]\n",
    [],
    TypeError,
    `"learning_rate"`,
    "expected a number",
  );
  await rejects(
    MODEL,
    ["warmup_ratio=2"],
    RangeError,
    `"warmup_ratio" in override "warmup_ratio=2"`,
    "<= 1",
  );
});

Deno.test("loadConfig() accepts numbers and booleans written as strings", async () => {
  const { args } = await loadConfig(
    await yamlFile(MODEL + "learning_rate: '3e-4'\nbf16: 'True'\n"),
  );
  assert.equal(args.learning_rate, 3e-4);
  assert.equal(args.bf16, true);
});

Deno.test("loadConfig() reports every problem of a config at once", async () => {
  const text = MODEL + "lora_rank: x\nlearning_rat: 1\nref_model_quantization_bit: 4\n";
  await rejects(text, [], TypeError, "lora_rank", "learning_rat", "ref_model_quantization_bit");
});

Deno.test("loadConfig() rejects unsupported LlamaFactory keys unless left at their default", async () => {
  await rejects(
    MODEL + "ref_model_quantization_bit: 4\n",
    [],
    RangeError,
    `Unsupported key "ref_model_quantization_bit"`,
    "(line 2)",
    "QLoRA",
  );
  await rejects(MODEL + "use_badam: true\n", [], RangeError, `Unsupported key "use_badam"`);
  await rejects(
    MODEL + "finetuning_type: oft\n",
    [],
    RangeError,
    `Unsupported value "oft" for "finetuning_type"`,
  );
  await rejects(MODEL + "infer_backend: vllm\n", [], RangeError, `Unsupported value "vllm"`);
  await rejects(
    MODEL + "report_to: wandb\n",
    [],
    RangeError,
    `Unsupported value "wandb" for "report_to"`,
  );
  const { notes } = await loadConfig(
    await yamlFile(MODEL + "ref_model_quantization_bit: null\nuse_unsloth: false\n"),
  );
  assert.equal(notes.length, 2);
  assert.ok(
    notes[0].startsWith(`"ref_model_quantization_bit" in `) && notes[0].includes("default"),
    notes[0],
  );
});

Deno.test("loadConfig() returns a note for each runtime-only key", async () => {
  const keys = ["dataloader_num_workers", "flash_attn", "save_only_model", "ddp_timeout"];
  const text = MODEL +
    "dataloader_num_workers: 4\nflash_attn: fa2\nsave_only_model: true\nddp_timeout: 9\n";
  const { notes } = await loadConfig(await yamlFile(text));
  assert.equal(notes.length, keys.length);
  for (const k of keys) {
    const n = notes.find((x) => x.startsWith(`"${k}"`));
    assert.ok(n?.includes(`(line ${lineOf(text, k)}) is ignored: `), n);
  }
});

Deno.test("loadConfig() enforces LlamaFactory's rules across keys", async () => {
  await rejects("stage: sft\n", [], TypeError, `Missing key "model_name_or_path"`);
  await rejects(
    MODEL + "dataset: a\neval_dataset: b\nval_size: 0.1\n",
    [],
    TypeError,
    `"val_size"`,
    `"eval_dataset"`,
  );
  await rejects(
    MODEL + "dataset: a,b\ninterleave_probs: 0.5,0.5\n",
    [],
    TypeError,
    `"interleave_probs"`,
    "concat",
  );
  await rejects(
    MODEL + "dataset: a,b\nmix_strategy: interleave_under\ninterleave_probs: 1\n",
    [],
    RangeError,
    "2 datasets",
    "1 probabilities",
  );
  await rejects(
    MODEL + "dataset: a,b\nmix_strategy: interleave_under\ninterleave_probs: 0.5,0.6\n",
    [],
    RangeError,
    "summing to 1",
  );
  await rejects(
    MODEL + "mask_history: true\ntrain_on_prompt: true\n",
    [],
    TypeError,
    `"mask_history"`,
    `"train_on_prompt"`,
  );
  await rejects(
    MODEL + "finetuning_type: full\nuse_dora: true\n",
    [],
    TypeError,
    `"use_dora"`,
    "lora only",
  );
  await rejects(MODEL + "bf16: true\nfp16: true\n", [], TypeError, `"bf16"`, `"fp16"`);
  await rejects(MODEL + "do_train: true\n", [], TypeError, `Missing key "dataset"`);
  await rejects(MODEL + "dataset: a\nval_size: 2.5\n", [], RangeError, `"val_size"`, "whole count");
  await rejects(MODEL + "stage: ppo\n", [], TypeError, `Missing key "reward_model"`);
  await rejects(
    MODEL + "do_train: true\ndataset: a\neval_strategy: steps\n",
    [],
    TypeError,
    "without evaluation data",
  );
  const { args } = await loadConfig(
    await yamlFile(MODEL + "neat_packing: true\nlora_rank: 4\nlora_alpha: 5\n"),
  );
  assert.equal(args.packing, true);
  assert.equal(args.lora_alpha, 5);
});

Deno.test("loadConfig() checks plugin names when the caller lists them", async () => {
  const path = await yamlFile(MODEL + "template: llama33\n");
  await assert.rejects(
    loadConfig(path, [], { plugins: { template: ["llama3", "qwen"] } }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes(`Cannot find template "llama33"`) &&
      e.message.includes(`(did you mean "llama3"?)`) && e.message.includes("(line 2)"),
  );
  const ok = await loadConfig(path, ["template=qwen"], {
    plugins: { template: ["llama3", "qwen"] },
  });
  assert.equal(ok.args.template, "qwen");
});

Deno.test("loadConfig() fails clearly on unreadable files", async () => {
  await rejects(MODEL + "lora_rank: [1\n", [], SyntaxError, "config.yaml (line");
  await rejects(MODEL + "lora_rank: 1\nlora_rank: 2\n", [], SyntaxError, "unique");
  await rejects("- a\n- b\n", [], TypeError, "expected a mapping");
  await assert.rejects(loadConfig("/nonexistent/x.yaml"), Deno.errors.NotFound);
  await assert.rejects(loadConfig(undefined, ["lora_rank"]), SyntaxError);
});

Deno.test("loadConfig() reads JSON configs too", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ model_name_or_path: "m", lora_rank: 2 }),
  );
  const { args } = await loadConfig(`${dir}/c.json`);
  assert.equal(args.lora_rank, 2);
});

Deno.test("validateConfig() checks a form's values without a file", () => {
  const { args } = validateConfig({
    model_name_or_path: "m",
    lora_target: ["q_proj"],
    cutoff_len: 64,
  });
  assert.deepEqual(args.lora_target, ["q_proj"]);
  assert.throws(
    () => validateConfig({ model_name_or_path: "m", cutoff_len: "long" }, { source: "form" }),
    /Invalid value for "cutoff_len" in form: expected an integer >= 1, got "long"/,
  );
});
