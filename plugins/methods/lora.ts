// LoRA, rsLoRA, DoRA, PiSSA and LoRA+ (LlamaFactory's _setup_lora_tuning over PEFT):
// - adapter_name_or_path: every adapter but the last is merged; the last is loaded and keeps
//   training, unless create_new_adapter (all merged, a fresh adapter on top) or inference
//   (all merged);
// - otherwise a fresh adapter on lora_target ("all" = every linear layer but the LM head), with
//   additional_target trained in full and saved with it (PEFT's modules_to_save);
// - saved in PEFT's layout, so `PeftModel.from_pretrained(base, dir)` loads it;
// - over a quantized model (QLoRA) one adapter at most, kept unmerged even for inference, and
//   nothing quantized trains in full (LlamaFactory's checks in hparams/parser.py).
// Reference: LlamaFactory src/llamafactory/model/adapter.py, peft/tuners/lora/
import { loadAdapter, saveAdapter } from "../../core/method/adapter.ts";
import {
  loraModules,
  mergeLora,
  setLoraDropout,
  untie,
  wrapLora,
} from "../../core/method/lora_model.ts";
import type { FinetuningMethod, MethodArgs } from "../../core/method/method.ts";
import { decayGroups, loraPlusGroups } from "../../core/method/param_groups.ts";
import { pissaInit } from "../../core/method/pissa.ts";
import { type MethodState, methodState, setMethodState } from "../../core/method/state.ts";
import { parentOf, resolveLoraTargets, resolveModules } from "../../core/method/targets.ts";
import { peftLoraConfig } from "../../core/io/peft.ts";
import type { Decoder } from "../../core/model/decoder.ts";
import type { ModelFamily } from "../../core/model/family.ts";
import { quantizedPaths } from "../../core/tensor/quant_linear.ts";

/** A fresh adapter from the LoRA arguments. */
async function createAdapter(
  model: Decoder,
  args: MethodArgs,
  family: ModelFamily | undefined,
): Promise<NonNullable<MethodState["lora"]>> {
  const r = args.lora_rank ?? 8;
  const alpha = args.lora_alpha ?? r * 2; // LlamaFactory's default
  const { paths, targetModules } = resolveLoraTargets(model, args.lora_target ?? ["all"]);
  const extra = args.additional_target ?? [];
  const modulesToSave = resolveModules(model, extra);
  const quantized = quantizedPaths(model);
  const frozen = modulesToSave.find((m) => quantized.some((q) => q === m || q.startsWith(`${m}.`)));
  if (frozen) {
    throw new TypeError(
      `Cannot train "${frozen}" of additional_target in full: its quantized weights are frozen (leave quantized layers out, or load the model without quantization_bit)`,
    );
  }
  const clash = modulesToSave.find((m) => paths.some((p) => p === m || p.startsWith(`${m}.`)));
  if (clash) {
    throw new TypeError(
      `Cannot apply LoRA: "${clash}" is both a LoRA target and an additional_target (train it one way)`,
    );
  }
  const layers = wrapLora(model, paths, {
    r,
    alpha,
    dropout: args.lora_dropout ?? 0,
    useRslora: args.use_rslora ?? false,
    useDora: args.use_dora ?? false,
    seed: args.seed ?? 42,
  });
  const iter = args.pissa_iter ?? 16;
  if (args.pissa_init) {
    for (const [i, l] of layers.entries()) {
      await pissaInit(l, { niter: iter, seed: (args.seed ?? 42) + i });
    }
  }
  for (const path of modulesToSave) {
    untie(model, path);
    const { parent, name } = parentOf(model, path);
    parent.module(name).unfreeze();
  }
  const config = peftLoraConfig({
    r,
    lora_alpha: alpha,
    lora_dropout: args.lora_dropout ?? 0,
    target_modules: targetModules,
    modules_to_save: extra.length ? [...extra] : null,
    use_rslora: args.use_rslora ?? false,
    use_dora: args.use_dora ?? false,
    init_lora_weights: args.pissa_init ? (iter === -1 ? "pissa" : `pissa_niter_${iter}`) : true,
    // PEFT sets it for transformers' Conv1D (GPT-2), whose weights are stored [in, out].
    fan_in_fan_out: paths.some((p) => family?.transposeOnLoad?.(`${p}.weight`) ?? false),
    base_model_name_or_path: args.model_name_or_path ?? null,
  });
  return { config, modulesToSave };
}

export const lora: FinetuningMethod = {
  kind: "method",
  name: "lora",
  description: "Train low-rank adapters (LoRA, rsLoRA, DoRA, PiSSA, LoRA+) on a frozen model",
  async apply(model, args, opts = {}) {
    if (loraModules(model).length) {
      throw new TypeError("Cannot apply LoRA: the model already has LoRA layers");
    }
    const trainable = opts.trainable ?? true;
    const adapters = args.adapter_name_or_path ?? [];
    const quantized = quantizedPaths(model).length > 0;
    if (quantized && adapters.length > 1) {
      throw new TypeError(
        `Cannot load ${adapters.length} adapters onto a quantized model: it accepts a single adapter (merge them first, without quantization_bit)`,
      );
    }
    if (quantized && adapters.length && args.create_new_adapter) {
      throw new TypeError(
        "Cannot create a new adapter upon a quantized model (create_new_adapter)",
      );
    }
    // A quantized model keeps its adapter unmerged: merging into 4/8-bit weights would be lossy.
    const resume = (trainable && !args.create_new_adapter) || quantized
      ? adapters.at(-1)
      : undefined;
    model.freeze();
    for (const dir of resume ? adapters.slice(0, -1) : adapters) {
      await loadAdapter(model, dir);
      mergeLora(model);
    }
    let state: MethodState["lora"];
    if (resume) {
      const loaded = await loadAdapter(model, resume, { trainable });
      state = { config: loaded.config, modulesToSave: loaded.modulesToSave };
    } else if (trainable) {
      state = await createAdapter(model, args, opts.family);
    }
    // A fixed mask until the trainer sets one per step with setLoraDropout(model, step).
    setLoraDropout(model, trainable ? (args.seed ?? 42) : null);
    setMethodState(model, { method: "lora", args, family: opts.family, lora: state });
    return model.trainableParameters();
  },
  paramGroups(model, opts) {
    const { args } = methodState(model, "lora");
    if (args.loraplus_lr_ratio === undefined) return decayGroups(model, opts);
    return loraPlusGroups(model, {
      ...opts,
      ratio: args.loraplus_lr_ratio,
      embeddingLr: args.loraplus_lr_embedding,
    });
  },
  async save(model, dir) {
    const s = methodState(model, "lora");
    if (!s.lora) {
      throw new TypeError(`Cannot save adapter "${dir}": the model has no adapter to save`);
    }
    await saveAdapter(model, dir, {
      config: s.lora.config,
      modulesToSave: s.lora.modulesToSave,
      convertPissa: (s.args.pissa_init && s.args.pissa_convert) ?? false,
    });
  },
  async load(model, dir) {
    const layers = loraModules(model);
    const trainable = layers.length > 0 && layers[0][1].loraA.requiresGrad;
    if (!layers.length) model.freeze(); // a model without apply(): load for inference
    const loaded = await loadAdapter(model, dir, { trainable });
    const prev = (() => {
      try {
        return methodState(model, "lora");
      } catch {
        return undefined;
      }
    })();
    setMethodState(model, {
      method: "lora",
      args: prev?.args ?? {},
      family: prev?.family,
      lora: { config: loaded.config, modulesToSave: loaded.modulesToSave },
    });
  },
};
