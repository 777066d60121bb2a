// The Train tab's hyperparameter sections, as LlamaBoard groups them (LoRA, freeze, RLHF, GaLore,
// evaluation apart), derived from the schema's groups and key names: a key new to the schema
// lands in its group's section without an edit here.
import type { FieldInfo } from "../../core/config/mod.ts";

export type SectionName =
  | "model"
  | "data"
  | "training"
  | "train_eval"
  | "finetuning"
  | "lora"
  | "freeze"
  | "rlhf"
  | "galore";

export const TRAIN_SECTIONS: readonly SectionName[] = [
  "model",
  "data",
  "training",
  "train_eval",
  "finetuning",
  "lora",
  "freeze",
  "rlhf",
  "galore",
];

const EVAL_KEYS = new Set(["do_eval", "eval_dataset", "val_size", "per_device_eval_batch_size"]);
const LORA_KEYS = new Set(["additional_target", "use_rslora", "use_dora", "create_new_adapter"]);
const RLHF_PREFIXES = ["pref_", "dpo_", "kto_", "simpo_", "ppo_", "ref_model", "reward_model"];

/** The section a Train-tab field is shown in; undefined for groups the Train tab does not show. */
export function sectionOf(f: FieldInfo): SectionName | undefined {
  const k = f.key;
  if (EVAL_KEYS.has(k) || k.startsWith("eval_")) return "train_eval";
  if (f.group === "finetuning") {
    if (LORA_KEYS.has(k) || /^(lora|loraplus|pissa)_/.test(k)) return "lora";
    if (k.startsWith("freeze_")) return "freeze";
    if (RLHF_PREFIXES.some((p) => k.startsWith(p))) return "rlhf";
    if (k === "use_galore" || k.startsWith("galore_")) return "galore";
    return "finetuning";
  }
  if (f.group === "model" || f.group === "data" || f.group === "training") return f.group;
  return undefined;
}
