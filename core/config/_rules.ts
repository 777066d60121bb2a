// Checks across keys (LlamaFactory's __post_init__ rules) and derived defaults, run after each
// key has validated on its own.
import type { Args } from "./schema.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ErrorClass = new (message: string) => Error;

export interface RuleContext {
  /** `"key" in file.yaml (line 3)`, or `"key"` when the key was not given. */
  at(key: string): string;
  /** Where the whole config came from, e.g. `config.yaml`. */
  readonly source: string;
  fail(cls: ErrorClass, message: string): void;
  note(message: string): void;
}

function given(v: unknown): boolean {
  return v !== undefined;
}

export function applyRules(a: Mutable<Args>, c: RuleContext): void {
  if (!given(a.model_name_or_path)) {
    c.fail(
      TypeError,
      `Missing key "model_name_or_path" in ${c.source}: expected the path of a Hugging Face model folder`,
    );
  }
  if (a.do_train && !a.dataset) {
    c.fail(
      TypeError,
      `Missing key "dataset" in ${c.source}: ${c.at("do_train")} needs training data`,
    );
  }
  checkData(a, c);
  checkMethod(a, c);
  checkQuantization(a, c);
  checkTrainer(a, c);
  if (a.trust_remote_code) {
    c.note(
      `${c.at("trust_remote_code")} is ignored: llamaforge never runs code shipped with a model`,
    );
  }
}

function checkData(a: Mutable<Args>, c: RuleContext): void {
  if (a.val_size > 0) {
    if (!a.dataset) c.fail(TypeError, `Cannot use ${c.at("val_size")} without "dataset"`);
    if (a.eval_dataset) {
      c.fail(
        TypeError,
        `Cannot combine ${c.at("val_size")} with ${c.at("eval_dataset")}: ` +
          "the validation set comes from one or the other",
      );
    }
    if (a.val_size >= 1 && !Number.isInteger(a.val_size)) {
      c.fail(
        RangeError,
        `Invalid value for ${
          c.at("val_size")
        }: expected a share in [0, 1) or a whole count, got ${a.val_size}`,
      );
    }
  }
  const probs = a.interleave_probs;
  if (probs) {
    if (a.mix_strategy === "concat") {
      c.fail(
        TypeError,
        `Cannot use ${c.at("interleave_probs")} with mix_strategy "concat": ` +
          'set mix_strategy to "interleave_under" or "interleave_over"',
      );
    }
    for (const key of ["dataset", "eval_dataset"] as const) {
      const names = a[key];
      if (names && names.length !== probs.length) {
        c.fail(
          RangeError,
          `Cannot interleave ${names.length} datasets of ${c.at(key)} with ` +
            `${probs.length} probabilities of ${c.at("interleave_probs")}`,
        );
      }
    }
    const sum = probs.reduce((s, p) => s + p, 0);
    if (probs.some((p) => p < 0) || Math.abs(sum - 1) > 1e-6) {
      c.fail(
        RangeError,
        `Invalid value for ${c.at("interleave_probs")}: expected non-negative probabilities ` +
          `summing to 1, got [${probs.join(", ")}]`,
      );
    }
  }
  if (a.mask_history && a.train_on_prompt) {
    c.fail(
      TypeError,
      `Cannot combine ${c.at("mask_history")} with ${c.at("train_on_prompt")}: ` +
        "one masks earlier turns, the other unmasks every prompt",
    );
  }
  if (a.neat_packing) a.packing = true;
}

function checkMethod(a: Mutable<Args>, c: RuleContext): void {
  a.lora_alpha ??= a.lora_rank * 2;
  if (a.finetuning_type !== "lora") {
    for (const key of ["loraplus_lr_ratio", "use_rslora", "use_dora", "pissa_init"] as const) {
      if (a[key]) {
        c.fail(
          TypeError,
          `Cannot use ${
            c.at(key)
          } with finetuning_type "${a.finetuning_type}": it applies to lora only`,
        );
      }
    }
  }
  if (a.stage === "ppo") {
    if (!a.reward_model) {
      c.fail(TypeError, `Missing key "reward_model" in ${c.source}: stage ppo needs one`);
    }
    if (a.reward_model_type === "lora" && a.finetuning_type !== "lora") {
      c.fail(
        TypeError,
        `Cannot use reward_model_type "lora" with finetuning_type "${a.finetuning_type}" in stage ppo`,
      );
    }
  }
  const usesRef = a.stage === "dpo" && a.pref_loss !== "orpo" && a.pref_loss !== "simpo";
  if (a.stage === "dpo" && a.pref_loss !== "sigmoid" && a.dpo_label_smoothing > 1e-6) {
    c.fail(
      TypeError,
      `Cannot use ${
        c.at("dpo_label_smoothing")
      } with pref_loss "${a.pref_loss}": it applies to sigmoid only`,
    );
  }
  if (a.use_galore && a.finetuning_type === "lora") {
    c.fail(TypeError, `Cannot use ${c.at("use_galore")} with LoRA together; use full or freeze`);
  }
  if (a.use_galore && a.optim !== "adamw_torch") {
    c.fail(
      TypeError,
      `Cannot use ${c.at("use_galore")} with optim "${a.optim}": expected adamw_torch`,
    );
  }
  if (a.use_galore && a.galore_layerwise) {
    c.fail(
      TypeError,
      `Cannot use ${c.at("galore_layerwise")}: layer-wise GaLore updates are not implemented`,
    );
  }
  if (a.stage === "dpo" || a.stage === "kto") checkPreference(a, c, usesRef || a.stage === "kto");
  if (a.do_predict && a.stage !== "sft") {
    c.fail(
      TypeError,
      `Cannot use ${
        c.at("do_predict")
      } with stage ${a.stage}: it writes generated replies, which stage sft predicts (rm scores are not written yet)`,
    );
  }
  if (a.pissa_init && (a.stage === "ppo" || a.stage === "kto" || usesRef)) {
    c.fail(TypeError, `Cannot use ${c.at("pissa_init")} in stage ${a.stage}`);
  }
}

/** What the dpo stage does not do yet, refused rather than trained differently. */
function checkPreference(a: Mutable<Args>, c: RuleContext, usesRef: boolean): void {
  if (a.stage === "dpo" && a.pref_loss === "kto_pair") {
    c.fail(
      TypeError,
      `Unsupported value "kto_pair" for ${
        c.at("pref_loss")
      }: use sigmoid, hinge, ipo, orpo or simpo, or stage kto`,
    );
  }
  if (!usesRef) return;
  if (a.ref_model !== undefined) {
    c.fail(
      TypeError,
      `Cannot use ${
        c.at("ref_model")
      } yet: the reference is the model being trained as it starts (LoRA adapters off, or a frozen copy for full and freeze); remove the key`,
    );
  }
  if (a.finetuning_type === "lora" && a.additional_target?.length) {
    c.fail(
      TypeError,
      `Cannot use ${
        c.at("additional_target")
      } in stage ${a.stage} yet: the reference (the model with its adapters off) would see the trained modules`,
    );
  }
}

/** LlamaFactory's hparams/parser.py _verify_model_args for quantization_bit. */
function checkQuantization(a: Mutable<Args>, c: RuleContext): void {
  if (a.quantization_bit === undefined) return;
  const bits = c.at("quantization_bit");
  if (a.finetuning_type !== "lora") {
    c.fail(
      TypeError,
      `Cannot use ${bits} with finetuning_type "${a.finetuning_type}": the quantized weights are frozen, so quantization is only compatible with the LoRA method; use finetuning_type: lora`,
    );
  }
  const n = a.adapter_name_or_path?.length ?? 0;
  const why: [unknown, string][] = [
    [a.pissa_init, `${c.at("pissa_init")}: PiSSA needs the dense weights`],
    [a.train_from_scratch, `${c.at("train_from_scratch")}: there are no weights to quantize`],
    [a.use_dora, `${c.at("use_dora")}: DoRA over quantized weights is not supported yet`],
    [n && a.create_new_adapter, `${c.at("create_new_adapter")}: its one adapter stays unmerged`],
    [n > 1, `${n} adapters: a quantized model accepts a single adapter; merge them first`],
  ];
  for (const [bad, w] of why) if (bad) c.fail(TypeError, `Cannot use ${bits} with ${w}`);
}

function checkTrainer(a: Mutable<Args>, c: RuleContext): void {
  if (a.bf16 && a.fp16) {
    c.fail(TypeError, `Cannot combine ${c.at("bf16")} with ${c.at("fp16")}: pick one precision`);
  }
  if (a.do_train && a.eval_strategy !== "no" && !(a.val_size > 0) && !a.eval_dataset) {
    c.fail(
      TypeError,
      `Cannot use ${c.at("eval_strategy")} "${a.eval_strategy}" without evaluation data: ` +
        "set val_size or eval_dataset",
    );
  }
  for (const r of a.report_to) {
    if (r === "all") {
      c.note(
        `${c.at("report_to")} "all" reports to trainer_log.jsonl only: no trackers are bundled`,
      );
    } else if (r !== "none") {
      c.fail(
        RangeError,
        `Unsupported value "${r}" for ${c.at("report_to")}: llamaforge writes trainer_log.jsonl ` +
          '(and the board plots it); use "none"',
      );
    }
  }
  if (a.export_legacy_format) {
    c.fail(
      RangeError,
      `Unsupported value true for ${
        c.at("export_legacy_format")
      }: llamaforge writes .safetensors only`,
    );
  }
}
