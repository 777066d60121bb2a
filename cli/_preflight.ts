// What a command checks before it touches the GPU or loads a weight: every path the config names,
// every adapter against the base model's shapes, and the template against the tokenizer, so a
// wrong config fails in a moment with the key, the path and what would be right.

import { basename, dirname, join, resolve } from "node:path";
import type { Args } from "../core/config/schema.ts";
import { checkTemplateTokens } from "../core/data/template_check.ts";
import { datasetAttr, readDatasetInfo } from "../core/data/dataset_info.ts";
import { parseTaskName } from "../core/eval/task.ts";
import { subfolders } from "../core/io/_folder.ts";
import { readModelConfig } from "../core/io/hf_config.ts";
import { checkAdapterBase } from "../core/io/peft.ts";
import { Tokenizer } from "../core/io/tokenizer.ts";
import type { ModelFamily } from "../core/model/family.ts";
import type { Registries } from "../core/plugins.ts";
import { closest } from "../core/registry.ts";

export type CommandName = "train" | "chat" | "api" | "eval" | "export";

const MODEL_LAYOUT =
  "expected a Hugging Face model folder with config.json, model.safetensors (or model.safetensors.index.json and its shards) and tokenizer.json";

/** Runs every check that applies to `command`; returns warnings for the caller to print. */
export async function preflight(
  args: Args,
  registries: Registries,
  command: CommandName,
): Promise<string[]> {
  const dir = args.model_name_or_path;
  if (!dir) return []; // the config rules already demand it
  const scratch = command === "train" && args.train_from_scratch;
  await checkModelDir(dir, { weights: !scratch, tokenizer: command !== "export" });
  const family = registries.models.get((await readModelConfig(dir)).model_type);
  const warnings: string[] = [];
  const adapters = args.adapter_name_or_path ?? [];
  for (const [i, a] of adapters.entries()) {
    const which = adapters.length > 1 ? ` (adapter ${i + 1} of ${adapters.length})` : "";
    warnings.push(
      ...await checkAdapterBase(a, dir, {
        label: `adapter_name_or_path "${a}"${which}`,
        transposed: (name) => family.transposeOnLoad?.(name) ?? false,
        storedAs: await tiedHead(dir, family),
      }),
    );
  }
  if (command !== "export" || (args.template && await exists(join(dir, "tokenizer.json")))) {
    const template = registries.templates.get(args.template ?? family.defaultTemplate);
    checkTemplateTokens(template, await Tokenizer.load(dir), {
      source: dir,
      given: args.template !== undefined,
      defaultTemplate: family.defaultTemplate,
      candidates: registries.templates.list(),
    });
  }
  const usesData = command === "train" || (command === "eval" && args.do_predict);
  if (usesData && (args.dataset?.length || args.eval_dataset?.length)) await checkDatasets(args);
  if (command === "eval" && args.task) await checkTask(args.task_dir, args.task);
  if (command === "export") await checkExportDir(args, dir);
  return warnings;
}

/** model_name_or_path: an existing folder with config.json, weights and a tokenizer. */
export async function checkModelDir(
  dir: string,
  need: { weights: boolean; tokenizer: boolean },
): Promise<void> {
  const fail = (msg: string) => `Cannot load model_name_or_path "${dir}": ${msg}`;
  const info = await statOrNull(dir);
  if (!info) {
    throw new Deno.errors.NotFound(
      fail(`the folder does not exist; ${MODEL_LAYOUT}${await missingModelHint(dir)}`),
    );
  }
  if (!info.isDirectory) throw new TypeError(fail(`it is a file, not a folder; ${MODEL_LAYOUT}`));
  const lacks: string[] = [];
  if (!(await exists(join(dir, "config.json")))) lacks.push("config.json");
  const weights = await exists(join(dir, "model.safetensors")) ||
    await exists(join(dir, "model.safetensors.index.json"));
  if (need.weights && !weights) lacks.push("model.safetensors");
  if (need.tokenizer && !(await exists(join(dir, "tokenizer.json")))) lacks.push("tokenizer.json");
  if (!lacks.length) return;
  throw new Deno.errors.NotFound(
    fail(`it has no ${lacks.join(", no ")}; ${MODEL_LAYOUT}${await lackHint(dir, lacks)}`),
  );
}

/** Why a folder lacks model files: it is an adapter, or holds formats we do not read. */
async function lackHint(dir: string, lacks: string[]): Promise<string> {
  const adapterConfig = join(dir, "adapter_config.json");
  if (lacks.includes("config.json") && await exists(adapterConfig)) {
    let base: unknown;
    try {
      base = JSON.parse(await Deno.readTextFile(adapterConfig)).base_model_name_or_path;
    } catch { /* the hint does without the base */ }
    return `; it is a PEFT adapter: set adapter_name_or_path to it and model_name_or_path to its base model${
      typeof base === "string" && base ? ` ("${base}")` : ""
    }`;
  }
  if (
    lacks.includes("model.safetensors") && (await exists(join(dir, "pytorch_model.bin")) ||
      await exists(join(dir, "pytorch_model.bin.index.json")))
  ) {
    return " (PyTorch .bin weights are not supported: save with safe_serialization=True)";
  }
  if (lacks.includes("tokenizer.json") && await exists(join(dir, "tokenizer.model"))) {
    return " (a SentencePiece tokenizer.model alone is not supported: save the fast tokenizer, which writes tokenizer.json)";
  }
  return "";
}

/** A hub id needs downloading; a typo gets the nearest folder beside it. */
async function missingModelHint(dir: string): Promise<string> {
  const parent = dirname(dir);
  if (/^[\w.-]+\/[\w.-]+$/.test(dir) && !(await statOrNull(parent))?.isDirectory) {
    return `; llamaforge reads local folders only: download "${dir}" first, e.g. huggingface-cli download ${dir} --local-dir models/${
      basename(dir)
    }`;
  }
  const near = closest(basename(dir), await subfolders(parent));
  return near ? ` (did you mean "${join(parent, near)}"?)` : "";
}

/** The embedding a tied LM head reads, for adapters that adapt the head. */
async function tiedHead(
  dir: string,
  family: ModelFamily,
): Promise<(name: string) => string | undefined> {
  const cfg = family.parseConfig(await readModelConfig(dir));
  const head = `${cfg.names.lmHead}.weight`;
  return (name) => cfg.tieEmbeddings && name === head ? `${cfg.names.embed}.weight` : undefined;
}

/** dataset_dir holds dataset_info.json, which names every dataset and eval_dataset. */
async function checkDatasets(args: Args): Promise<void> {
  const dir = args.dataset_dir;
  const info = await statOrNull(dir);
  const want = `expected a folder holding LlamaFactory's dataset_info.json (as "data" does)`;
  if (!info?.isDirectory) {
    const what = info ? "it is a file, not a folder" : "the folder does not exist";
    throw new (info ? TypeError : Deno.errors.NotFound)(
      `Cannot read dataset_dir "${dir}": ${what}; ${want}`,
    );
  }
  if (!(await exists(join(dir, "dataset_info.json")))) {
    throw new Deno.errors.NotFound(
      `Cannot read dataset_dir "${dir}": it has no dataset_info.json; ${want}`,
    );
  }
  const parsed = await readDatasetInfo(dir);
  for (const name of [...args.dataset ?? [], ...args.eval_dataset ?? []]) datasetAttr(parsed, name);
}

/** task_dir holds the task's folder with its mapping.json. */
async function checkTask(taskDir: string, task: string): Promise<void> {
  const { name } = parseTaskName(task);
  const info = await statOrNull(taskDir);
  const want =
    `expected a folder of tasks in LlamaFactory's evaluation layout (as "evaluation" is)`;
  if (!info?.isDirectory) {
    const what = info ? "it is a file, not a folder" : "the folder does not exist";
    throw new (info ? TypeError : Deno.errors.NotFound)(
      `Cannot read task_dir "${taskDir}": ${what}; ${want}`,
    );
  }
  if (await exists(join(taskDir, name, "mapping.json"))) return;
  const tasks: string[] = [];
  for (const f of await subfolders(taskDir)) {
    if (await exists(join(taskDir, f, "mapping.json"))) tasks.push(f);
  }
  throw new Deno.errors.NotFound(
    `Cannot find task "${task}" in task_dir "${taskDir}": ${
      join(taskDir, name, "mapping.json")
    } does not exist; expected one of ${
      tasks.length
        ? tasks.map((t) => `"${t}_test"`).join(", ")
        : "nothing (the folder holds no task)"
    }`,
  );
}

/** export_dir: a folder (new or not), never a file, the base model or an adapter being merged. */
async function checkExportDir(args: Args, model: string): Promise<void> {
  const out = args.export_dir;
  if (!out) return; // export names the missing key itself
  const info = await statOrNull(out);
  if (info && !info.isDirectory) {
    throw new TypeError(
      `Cannot export to export_dir "${out}": it is a file; expected a folder (new or existing) to write the model into`,
    );
  }
  for (
    const [key, src] of [
      ["model_name_or_path", model],
      ...(args.adapter_name_or_path ?? []).map((a) => ["adapter_name_or_path", a]),
    ]
  ) {
    if (resolve(out) === resolve(src)) {
      throw new TypeError(
        `Cannot export to export_dir "${out}": it is the ${key} being read; choose another folder`,
      );
    }
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await statOrNull(path)) !== null;
}
