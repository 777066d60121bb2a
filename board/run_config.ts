// Turns a tab's form into the YAML file a run uses and the equivalent `cli.ts <command> key=value`
// line; values typed as text are converted per schema field, and every path is checked.
import { stringify } from "yaml";
import { configSchema } from "../core/config/mod.ts";
import { catalogue } from "../plugins/models/catalogue.ts";
import { checkPath } from "./paths.ts";

/** What a child process of the board does; one runs at a time. */
export type RunKind = "train" | "eval" | "predict" | "export";
export const RUN_KINDS: readonly RunKind[] = ["train", "eval", "predict", "export"];

interface KindSpec {
  /** The cli.ts command the child runs. */
  readonly command: "train" | "eval" | "export";
  /** Values the kind always sets (the form cannot turn them off). */
  readonly fixed: Readonly<Record<string, unknown>>;
  /** The key naming the folder the run writes (its results are read from there). */
  readonly outputKey: "output_dir" | "save_dir" | "export_dir";
  /** Keys written even at their default, so the YAML reads as a complete recipe. */
  readonly always: readonly string[];
}

const MODEL_KEYS = ["model_name_or_path", "adapter_name_or_path", "finetuning_type", "template"];

export const KIND_SPECS: Readonly<Record<RunKind, KindSpec>> = {
  train: {
    command: "train",
    fixed: { do_train: true },
    outputKey: "output_dir",
    always: [...MODEL_KEYS, "stage", "do_train", "dataset", "dataset_dir", "output_dir"],
  },
  eval: {
    command: "eval",
    fixed: {},
    outputKey: "save_dir",
    always: [...MODEL_KEYS, "task", "task_dir", "save_dir"],
  },
  predict: {
    command: "train",
    // do_train: false (the default, so left out of the YAML) overrides a stray form value.
    fixed: { do_train: false, do_predict: true, predict_with_generate: true },
    outputKey: "output_dir",
    always: [...MODEL_KEYS, "do_predict", "predict_with_generate", "eval_dataset", "output_dir"],
  },
  export: {
    command: "export",
    fixed: {},
    outputKey: "export_dir",
    always: [...MODEL_KEYS, "export_dir"],
  },
};

/** Keys holding paths a user typed, checked against the allowed roots. */
const PATH_KEYS = [
  "adapter_name_or_path",
  "dataset_dir",
  "output_dir",
  "tokenized_path",
  "task_dir",
  "save_dir",
  "export_dir",
  "ref_model_adapters",
  "reward_model_adapters",
];
/** Keys holding a model: a catalogue name or a path. */
const MODEL_PATH_KEYS = ["model_name_or_path", "ref_model", "reward_model"];

export interface RunConfig {
  readonly kind: RunKind;
  /** Typed values, in schema order, defaults dropped. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly yaml: string;
  /** The equivalent command line, for the preview. */
  readonly command: string;
}

/** Converts form text to the field's type; unknown keys and unparsable numbers pass as typed. */
export function typedValue(key: string, raw: unknown): unknown {
  const f = configSchema.byKey.get(key);
  if (typeof raw !== "string") return raw;
  if (!f) return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (f.type === "int" || f.type === "float") {
    const n = Number(raw);
    return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
  }
  if (f.type === "bool") return raw === "true" ? true : raw === "false" ? false : raw;
  return raw;
}

function isDefault(key: string, value: unknown, always: readonly string[]): boolean {
  const f = configSchema.byKey.get(key);
  if (!f || always.includes(key)) return false;
  const d = Array.isArray(f.default) ? f.default.join(",") : f.default;
  return d !== undefined && String(d) === String(value);
}

/** Builds a run's config from form values (text or typed), checking paths against `root`. */
export function runConfig(
  kind: RunKind,
  form: Readonly<Record<string, unknown>>,
  opts: { root: string },
): RunConfig {
  const spec = KIND_SPECS[kind];
  if (!spec) {
    throw new TypeError(
      `Cannot run "${kind}": expected one of ${RUN_KINDS.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  const entries = Object.entries<unknown>({ ...form, ...spec.fixed })
    .filter(([, v]) => v !== "" && v !== null && v !== undefined)
    .map(([k, v]) => [k, typedValue(k, v)] as const)
    .filter(([k, v]) => !isDefault(k, v, spec.always));
  const order = (k: string) => {
    const i = configSchema.fields.findIndex((f) => f.key === k);
    return i < 0 ? Infinity : i;
  };
  entries.sort((a, b) => order(a[0]) - order(b[0]));
  const values = Object.fromEntries(entries);
  checkPaths(values, opts.root);
  const args = entries.map(([k, v]) => shellQuote(`${k}=${Array.isArray(v) ? v.join(",") : v}`));
  return {
    kind,
    values,
    yaml: stringify(values),
    command: ["deno", "run", "-A", "cli.ts", spec.command, ...args].join(" "),
  };
}

/** Checks every path-valued key of `values`; a model that is no path (a catalogue name) passes. */
export function checkPaths(values: Readonly<Record<string, unknown>>, root: string): void {
  for (const key of PATH_KEYS) {
    const v = values[key];
    const list = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : [];
    for (const p of list) if (String(p).trim()) checkPath(root, String(p).trim(), { key });
  }
  for (const key of MODEL_PATH_KEYS) {
    const model = values[key];
    if (typeof model === "string" && model && !isHubName(model)) checkPath(root, model, { key });
  }
}

const CATALOGUE = new Set(catalogue.map((c) => c.name));

/** A checkpoint name from the catalogue, as opposed to a local path. */
export function isHubName(s: string): boolean {
  return CATALOGUE.has(s);
}

function shellQuote(s: string): string {
  return /^[\w.,=/:+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
