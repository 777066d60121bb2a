// LoRA adapters in PEFT's folder layout: adapter_config.json and adapter_model.safetensors with
// PEFT's key names (peft/utils/save_and_load.py `get_peft_model_state_dict`):
//   base_model.model.<module path>.lora_A.weight          [r, in]
//   base_model.model.<module path>.lora_B.weight          [out, r]
//   base_model.model.<module path>.lora_magnitude_vector  [out]   (DoRA; no ".weight")
//   base_model.model.<module path>.<param>                        (modules_to_save, as PEFT >= 0.14
//                                                                  writes them, without ".default")
// Each file is written atomically, the weights before the config, so a folder never has a config
// without its weights.

import { join } from "node:path";
import { pythonJsonDumps } from "./_py_json.ts";
import { isFile } from "./_folder.ts";
import { writeFileAtomic } from "./atomic.ts";
import { type Checkpoint, openCheckpoint } from "./checkpoint.ts";
import { type TensorEntry, writeSafetensors } from "./safetensors_write.ts";

export const ADAPTER_CONFIG_NAME = "adapter_config.json";
export const ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors";
/** Prefix of every key: PeftModel.base_model (LoraModel) .model (the transformers model). */
export const PEFT_PREFIX = "base_model.model.";
const ADAPTER_LAYOUT =
  `a PEFT adapter folder holds ${ADAPTER_CONFIG_NAME} and ${ADAPTER_WEIGHTS_NAME}`;

/** The keys of PEFT's LoraConfig that llamaforge reads and writes. */
export interface PeftLoraConfig {
  peft_type: "LORA";
  task_type: string | null;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  /** Module name suffixes, or one regular expression matched against the whole module path. */
  target_modules: string[] | string;
  modules_to_save: string[] | null;
  use_rslora: boolean;
  use_dora: boolean;
  /** true (kaiming A, zero B), or "pissa" / "pissa_niter_<n>" for PiSSA-initialised adapters. */
  init_lora_weights: boolean | string;
  fan_in_fan_out: boolean;
  bias: "none" | "all" | "lora_only";
  base_model_name_or_path: string | null;
  inference_mode: boolean;
  [key: string]: unknown;
}

/** A LoRA config with PEFT's defaults for what `partial` leaves out. */
export function peftLoraConfig(
  partial: Partial<PeftLoraConfig> & Pick<PeftLoraConfig, "r" | "target_modules">,
): PeftLoraConfig {
  const tm = partial.target_modules;
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: null,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: 8,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: "LORA",
    rank_pattern: {},
    revision: null,
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: false,
    ...partial,
    // PEFT stores a set as a list in no particular order; sorted, our files are reproducible.
    target_modules: typeof tm === "string" ? tm : [...new Set(tm)].sort(),
  };
}

export type PeftLeaf = "lora_A" | "lora_B" | "lora_magnitude_vector";

/** The adapter key of a LoRA tensor of the module at `path`. */
export function peftKey(path: string, leaf: PeftLeaf): string {
  return leaf === "lora_magnitude_vector"
    ? `${PEFT_PREFIX}${path}.lora_magnitude_vector`
    : `${PEFT_PREFIX}${path}.${leaf}.weight`;
}

/** The adapter keys a stored tensor may have, newest form first (older PEFT kept ".weight" on
 * DoRA magnitudes and "modules_to_save." before a saved module's parameters). */
export function peftKeyCandidates(path: string, leaf: PeftLeaf | { param: string }): string[] {
  if (typeof leaf === "object") {
    return [
      `${PEFT_PREFIX}${path}.${leaf.param}`,
      `${PEFT_PREFIX}${path}.modules_to_save.${leaf.param}`,
    ];
  }
  const k = peftKey(path, leaf);
  return leaf === "lora_magnitude_vector" ? [k, `${k}.weight`] : [k];
}

/** Writes `dir/adapter_model.safetensors` then `dir/adapter_config.json`, each atomically. */
export async function writePeftAdapter(
  dir: string,
  adapter: { config: PeftLoraConfig; tensors: readonly TensorEntry[] },
): Promise<void> {
  for (const t of adapter.tensors) {
    if (!t.name.startsWith(PEFT_PREFIX)) {
      throw new TypeError(
        `Cannot write adapter "${dir}": tensor "${t.name}" does not start with "${PEFT_PREFIX}"`,
      );
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS_NAME), adapter.tensors, {
    metadata: { format: "pt" },
  });
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_NAME), pythonJsonDumps(adapter.config) + "\n");
}

// Config keys whose non-default values change the computation in ways llamaforge does not model.
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  rank_pattern: (v) => v != null && Object.keys(v as object).length > 0,
  alpha_pattern: (v) => v != null && Object.keys(v as object).length > 0,
  layers_to_transform: (v) => v != null,
  use_qalora: (v) => v === true,
  lora_bias: (v) => v === true,
  trainable_token_indices: (v) => v != null,
  exclude_modules: (v) => v != null && (!Array.isArray(v) || v.length > 0),
};

export interface PeftReadOptions {
  /** How messages name the adapter (default `adapter "<dir>"`), e.g. by the config key. */
  label?: string;
}

/** Reads and checks `dir/adapter_config.json` (a LoRA config without unsupported options). */
export async function readPeftConfig(
  dir: string,
  opts: PeftReadOptions = {},
): Promise<PeftLoraConfig> {
  const label = opts.label ?? `adapter "${dir}"`;
  await requireAdapterFolder(dir, label);
  const path = join(dir, ADAPTER_CONFIG_NAME);
  if (!(await isFile(path))) {
    throw new Deno.errors.NotFound(
      `Cannot read ${label}: the folder has no ${ADAPTER_CONFIG_NAME}; ${ADAPTER_LAYOUT}`,
    );
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new SyntaxError(`Cannot read "${path}": it is not valid JSON: ${(e as Error).message}`);
  }
  const fail = (msg: string) => new TypeError(`Cannot read "${path}": ${msg}`);
  if (raw.peft_type !== "LORA") {
    throw fail(`"peft_type" is ${JSON.stringify(raw.peft_type)}, expected "LORA"`);
  }
  if (!Number.isInteger(raw.r) || (raw.r as number) < 1) {
    throw fail(`"r" is ${JSON.stringify(raw.r)}, expected a positive integer`);
  }
  const tm = raw.target_modules;
  if (!(typeof tm === "string" || (Array.isArray(tm) && tm.every((t) => typeof t === "string")))) {
    throw fail(`"target_modules" is ${JSON.stringify(tm)}, expected a list of names or a regex`);
  }
  for (const [k, bad] of Object.entries(UNSUPPORTED)) {
    if (bad(raw[k])) throw fail(`"${k}" = ${JSON.stringify(raw[k])} is not supported`);
  }
  if ((raw.bias ?? "none") !== "none") {
    throw fail(`"bias" = ${JSON.stringify(raw.bias)} is not supported (expected "none")`);
  }
  const mts = raw.modules_to_save;
  if (mts != null && !(Array.isArray(mts) && mts.every((m) => typeof m === "string"))) {
    throw fail(`"modules_to_save" is ${JSON.stringify(mts)}, expected a list of names or null`);
  }
  return peftLoraConfig({
    ...raw,
    r: raw.r as number,
    lora_alpha: typeof raw.lora_alpha === "number" ? raw.lora_alpha : 8,
    lora_dropout: typeof raw.lora_dropout === "number" ? raw.lora_dropout : 0,
    target_modules: tm as string[] | string,
    modules_to_save: (mts as string[] | null | undefined) ?? null,
    use_rslora: raw.use_rslora === true,
    use_dora: raw.use_dora === true,
    fan_in_fan_out: raw.fan_in_fan_out === true,
    init_lora_weights: (raw.init_lora_weights as boolean | string | undefined) ?? true,
  });
}

/** Opens an adapter folder: its config and a lazy reader of adapter_model.safetensors. */
export async function openPeftAdapter(
  dir: string,
  opts: PeftReadOptions = {},
): Promise<{ config: PeftLoraConfig; weights: Checkpoint }> {
  const label = opts.label ?? `adapter "${dir}"`;
  const config = await readPeftConfig(dir, opts);
  const has = (name: string) => isFile(join(dir, name));
  if (!(await has(ADAPTER_WEIGHTS_NAME)) && !(await has(`${ADAPTER_WEIGHTS_NAME}.index.json`))) {
    if (await has("adapter_model.bin")) {
      throw new TypeError(
        `Cannot read ${label}: it holds adapter_model.bin (PyTorch pickle), which is not supported; save it with safe_serialization=True`,
      );
    }
    throw new Deno.errors.NotFound(
      `Cannot read ${label}: the folder has no ${ADAPTER_WEIGHTS_NAME}; ${ADAPTER_LAYOUT}`,
    );
  }
  const weights = await openCheckpoint(dir, { weightsName: ADAPTER_WEIGHTS_NAME });
  return { config, weights };
}

async function requireAdapterFolder(dir: string, label: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new Deno.errors.NotFound(
      `Cannot read ${label}: the folder does not exist; ${ADAPTER_LAYOUT}`,
    );
  }
  if (!info.isDirectory) {
    throw new TypeError(`Cannot read ${label}: it is a file, not a folder; ${ADAPTER_LAYOUT}`);
  }
}

export interface AdapterBaseOptions extends PeftReadOptions {
  /** Whether the base stores weight `name` as [in, out] (transformers' Conv1D); default: the
   * adapter's fan_in_fan_out. */
  transposed?: (name: string) => boolean;
  /** The stored weight behind one the checkpoint leaves out (a tied LM head's embedding). */
  storedAs?: (name: string) => string | undefined;
}

/**
 * Checks the adapter at `adapterDir` against the base checkpoint at `baseDir` from their headers
 * alone: each adapted module exists in the base, lora_A's in-features and lora_B's (and DoRA's)
 * out-features match the base weight, and saved modules have the base's shapes. Throws a
 * TypeError naming the adapter, the module and both shapes; returns warnings (an adapter whose
 * base_model_name_or_path names another model, as PEFT warns).
 */
export async function checkAdapterBase(
  adapterDir: string,
  baseDir: string,
  opts: AdapterBaseOptions = {},
): Promise<string[]> {
  const label = opts.label ?? `adapter "${adapterDir}"`;
  const { config, weights } = await openPeftAdapter(adapterDir, opts);
  let base: Checkpoint | undefined;
  try {
    base = await openCheckpoint(baseDir);
    const fail = (msg: string) =>
      new TypeError(
        `Cannot load ${label} on "${baseDir}": ${msg}; it was trained on another base model${
          config.base_model_name_or_path ? ` ("${config.base_model_name_or_path}")` : ""
        }`,
      );
    const transposed = opts.transposed ?? (() => config.fan_in_fan_out);
    const adapted = new Set<string>();
    for (const key of weights.names()) {
      if (!key.startsWith(PEFT_PREFIX)) continue; // loadAdapter names keys it cannot place
      const rest = key.slice(PEFT_PREFIX.length);
      const got = weights.info(key).shape;
      const lora = rest.match(/^(.+)\.(lora_A|lora_B|lora_magnitude_vector)(?:\.weight)?$/);
      if (!lora) {
        const name = rest.replace(".modules_to_save.", ".");
        const stored = base.has(name) ? name : opts.storedAs?.(name);
        if (!stored || !base.has(stored)) continue; // loadAdapter names modules it cannot find
        const want = base.info(stored).shape;
        if (!sameShape(got, want)) {
          throw fail(
            `saved tensor "${name}" has shape [${got.join(", ")}] in the adapter but [${
              want.join(", ")
            }] in the base`,
          );
        }
        continue;
      }
      const [, path, leaf] = lora;
      adapted.add(path);
      const name = `${path}.weight`;
      const stored = base.has(name) ? name : opts.storedAs?.(name);
      if (!stored || !base.has(stored)) {
        throw fail(`it adapts module "${path}", which the base model does not have`);
      }
      const w = base.info(stored).shape;
      if (w.length !== 2) {
        throw fail(`it adapts "${path}", whose base weight has shape [${w.join(", ")}]`);
      }
      const [out, inF] = transposed(name) ? [w[1], w[0]] : [w[0], w[1]];
      const [what, have, need] = leaf === "lora_A"
        ? ["in-features", got[1], inF]
        : ["out-features", got[0], out];
      if (have !== need) {
        throw fail(
          `module "${path}" has ${what} ${have} in the adapter (${leaf} [${
            got.join(", ")
          }]) but ${need} in the base (weight [${w.join(", ")}])`,
        );
      }
    }
    const missing = unadapted(config, base, adapted);
    if (missing.length) {
      throw fail(
        `it has no LoRA weights for "${missing[0]}"${
          missing.length > 1 ? ` and ${missing.length - 1} more modules` : ""
        }, which its target_modules ${JSON.stringify(config.target_modules)} select in the base`,
      );
    }
    const trained = config.base_model_name_or_path;
    return trained && !sameModel(trained, baseDir)
      ? [
        `${label} was trained on "${trained}" (base_model_name_or_path in its ${ADAPTER_CONFIG_NAME}), not "${baseDir}"; its shapes fit, so it loads`,
      ]
      : [];
  } finally {
    weights.close();
    base?.close();
  }
}

/** Base matrices the adapter's target_modules select (PEFT's suffix or full-regex match) but
 * that it holds no LoRA weights for: it was made for a model with fewer or other layers. */
function unadapted(config: PeftLoraConfig, base: Checkpoint, adapted: Set<string>): string[] {
  const tm = config.target_modules;
  const re = typeof tm === "string" ? new RegExp(`^(?:${tm})$`) : undefined;
  const selects = (p: string) =>
    re ? re.test(p) : (tm as string[]).some((t) => p === t || p.endsWith(`.${t}`));
  const saved = config.modules_to_save ?? [];
  return base.names()
    .filter((n) => n.endsWith(".weight") && base.info(n).shape.length === 2)
    .map((n) => n.slice(0, -".weight".length))
    .filter((p) => selects(p) && !adapted.has(p))
    .filter((p) => !saved.some((m) => p === m || p.endsWith(`.${m}`)));
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Whether two model paths or hub ids name one model: the last path part, case aside
 * ("meta-llama/Llama-3.2-1B" and "/models/llama-3.2-1b/" match). */
export function sameModel(a: string, b: string): boolean {
  const last = (s: string) => s.replace(/[\\/]+$/, "").split(/[\\/]/).at(-1)!.toLowerCase();
  return last(a) === last(b);
}
