// One training run from validated LlamaFactory arguments: model, tokenizer and template, data,
// stage, fine-tuning method, trainer (LlamaFactory's run_exp and the stage workflows).

import { copyFile } from "node:fs/promises";
import type { Args } from "../config/schema.ts";
import type { HostBatch } from "../data/collate.ts";
import { fillIdentity, loadDatasets } from "../data/loader.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import { setLoraDropout, withAdaptersDisabled } from "../method/lora_model.ts";
import { decayGroups } from "../method/param_groups.ts";
import type { Decoder } from "../model/decoder.ts";
import type { CausalLM, Stage } from "../stage/stage.ts";
import { loadModel, quantizationOf } from "../model/load.ts";
import type { Registries } from "../plugins.ts";
import { prepareSplits } from "../stage/prepare.ts";
import { Rng } from "../rng.ts";
import { galoreOptimizer } from "./galore.ts";
import { Trainer, type TrainResult } from "./trainer.ts";
import type { TrainData, TrainerOptions } from "./options.ts";
import type { ScheduleType } from "../tensor/schedule.ts";
import { countDense } from "../tensor/quant_linear.ts";
import type { Feature } from "../data/collate.ts";
import type { Example } from "../data/dataset_info.ts";

export interface WorkflowOptions {
  registries: Registries;
  /** Where progress lines go (default console.error). */
  log?: (line: string) => void;
  /** Terminal progress bar (default: when stderr is a terminal). */
  progress?: boolean;
}

const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "chat_template.jinja",
  "generation_config.json",
];

/** Trains as `llamafactory-cli train` does with the same arguments; returns the trainer's result. */
export async function runTraining(args: Args, opts: WorkflowOptions): Promise<TrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const r = opts.registries;
  if (!args.model_name_or_path) {
    throw new TypeError('Cannot train: "model_name_or_path" is not set');
  }
  if (!args.dataset?.length) throw new TypeError('Cannot train: "dataset" is not set');
  const modelDir = args.model_name_or_path;
  await checkOutputDir(args);
  if (args.bf16 || args.fp16) {
    // Higher precision than asked: the update is the same up to rounding, so this is a note.
    log(
      `note: ${
        args.bf16 ? "bf16" : "fp16"
      } mixed precision is not implemented yet; training computes in f32`,
    );
  }

  const { model, family } = await loadModel(modelDir, r.models, {
    fromScratch: args.train_from_scratch,
    seed: args.seed,
    quantization: quantizationOf(args),
  });
  const template = r.templates.get(args.template ?? family.defaultTemplate);
  const tokenizer = template.fixTokenizer(await Tokenizer.load(modelDir));
  if (tokenizer.vocabSize > model.cfg.vocabSize) {
    throw new RangeError(
      `Cannot train with template "${template.name}": it needs ${tokenizer.vocabSize} tokens (new: ${
        tokenizer.newTokens.join(", ")
      }) but the model has ${model.cfg.vocabSize}; resize_vocab is not supported yet`,
    );
  }

  if (args.stage === "ppo" && !r.stages.has("ppo")) {
    throw new TypeError(
      'Cannot train stage "ppo": it is not implemented yet; tune on preferences with stage dpo (pref_loss sigmoid, orpo, simpo, ...) or kto, or load a PPO stage with --plugin',
    );
  }
  const stage = r.stages.get(args.stage);
  const data = await loadDatasets(args.dataset, {
    formats: r.formats,
    datasetDir: args.dataset_dir,
    maxSamples: args.max_samples,
    mixStrategy: args.mix_strategy,
    interleaveProbs: args.interleave_probs,
    seed: args.seed,
    valSize: args.val_size,
    evalNames: args.eval_dataset,
    stage: args.stage,
  });
  for (const w of data.warnings) log(`warning: ${w}`);
  // Identity data keeps LlamaFactory's {{name}}/{{author}} placeholders unless the config fills them.
  const identity = {
    name: args.identity_name ?? "{{name}}",
    author: args.identity_author ?? "{{author}}",
  };
  const fill = (xs: readonly Example[]) => xs.map((x) => fillIdentity(x, identity));
  const splits = await prepareSplits(stage, {
    train: fill(data.train),
    eval: data.eval && fill(data.eval),
  }, {
    tokenizer,
    template,
    args,
    tokenizedPath: args.tokenized_path,
    overwriteCache: args.overwrite_cache,
  });
  for (const w of splits.warnings) log(`warning: ${w}`);
  log(
    `${stage.name}: ${splits.train.length} training examples` +
      (splits.eval ? `, ${splits.eval.length} for evaluation` : "") +
      `; ${family.name} model from ${modelDir}; template ${template.name}; method ${args.finetuning_type}`,
  );

  const method = r.methods.get(args.finetuning_type);
  await method.apply(model, args, { family });
  const trainable = model.countParameters({ trainable: true }), all = countDense(model);
  log(
    `trainable params: ${trainable} || all params: ${all} || trainable%: ${
      (100 * trainable / all).toFixed(4)
    }`,
  );

  const ref = await referenceOf(stage, args, model, modelDir, r);
  const extra = stage.createModules?.(model.cfg.hiddenSize, args);
  const padTokenId = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const batches = (features: Feature[], size: number, shuffle: boolean): TrainData<HostBatch> => ({
    length: Math.ceil(features.length / size),
    *batches(epoch: number, seed: number) {
      const order = shuffle
        ? new Rng(seed * 1_000_003 + epoch).permutation(features.length)
        : features.map((_, i) => i);
      for (let i = 0; i < order.length; i += size) {
        yield stage.collate(order.slice(i, i + size).map((k) => features[k]), { padTokenId });
      }
    },
  });
  const trainer = new Trainer<HostBatch>({
    model,
    optimizer: args.use_galore ? () => galoreOf(model, args, extra !== undefined) : undefined,
    paramGroups: () => {
      const g = { lr: args.learning_rate, weightDecay: args.weight_decay };
      return [...method.paramGroups(model, g), ...(extra ? decayGroups(extra.module, g) : [])];
    },
    args: trainerOptions(args, opts.progress),
    loss: (batch, ctx) => {
      setLoraDropout(model, ctx.training ? ctx.seed : null);
      return stage.loss(model, batch, {
        gradientCheckpointing: args.gradient_checkpointing,
        numItems: ctx.numItems,
        reference: ref?.model,
        args,
        metric: ctx.metric,
        modules: extra?.module,
        dropoutSeed: ctx.training ? ctx.seed : null,
      });
    },
    trainData: batches(splits.train, args.per_device_train_batch_size, true),
    evalData: splits.eval
      ? batches(splits.eval, args.per_device_eval_batch_size, false)
      : undefined,
    save: async (dir) => {
      await method.save(model, dir, { baseDir: modelDir });
      await extra?.save(dir);
      await copyTokenizerFiles(modelDir, dir);
    },
    load: async (dir) => {
      await method.load(model, dir);
      await extra?.load(dir);
    },
  });
  try {
    return await trainer.train();
  } finally {
    ref?.release();
    extra?.module.release();
    model.release();
  }
}

/** LlamaFactory's GaLore optimizer for `use_galore` (full or freeze fine-tuning). */
function galoreOf(model: Decoder, a: Args, stageModules: boolean) {
  if (stageModules) {
    throw new TypeError(
      `Cannot use use_galore with stage ${a.stage} yet: its own modules would not train`,
    );
  }
  return galoreOptimizer(model, {
    targets: a.galore_target,
    galore: {
      rank: a.galore_rank,
      updateInterval: a.galore_update_interval,
      scale: a.galore_scale,
    },
    lr: a.learning_rate,
    weightDecay: a.weight_decay,
    betas: [a.adam_beta1, a.adam_beta2],
    eps: a.adam_epsilon,
  });
}

/**
 * The reference a stage compares with (DPO), as LlamaFactory's create_ref_model makes it: for
 * LoRA the model itself with its adapters off, otherwise a frozen second copy of the base.
 */
async function referenceOf(
  stage: Stage,
  args: Args,
  model: Decoder,
  modelDir: string,
  r: Registries,
): Promise<{ model: CausalLM; release(): void } | undefined> {
  if (!stage.usesReference?.(args)) return undefined;
  if (args.finetuning_type === "lora") {
    const off = <R>(fn: () => R) => withAdaptersDisabled(model, fn);
    return {
      model: {
        hidden: (ids, o) => off(() => model.hidden(ids, o)),
        logits: (h) => off(() => model.logits(h)),
      },
      release() {},
    };
  }
  const copy = (await loadModel(modelDir, r.models, { quantization: quantizationOf(args) })).model;
  return { model: copy, release: () => copy.release() };
}

function trainerOptions(a: Args, progress?: boolean): TrainerOptions {
  return {
    outputDir: a.output_dir,
    maxSteps: a.max_steps,
    numTrainEpochs: a.num_train_epochs,
    perDeviceTrainBatchSize: a.per_device_train_batch_size,
    perDeviceEvalBatchSize: a.per_device_eval_batch_size,
    gradientAccumulationSteps: a.gradient_accumulation_steps,
    learningRate: a.learning_rate,
    lrSchedulerType: a.lr_scheduler_type as ScheduleType,
    warmupRatio: a.warmup_ratio,
    warmupSteps: a.warmup_steps,
    weightDecay: a.weight_decay,
    adamBeta1: a.adam_beta1,
    adamBeta2: a.adam_beta2,
    adamEpsilon: a.adam_epsilon,
    maxGradNorm: a.max_grad_norm,
    seed: a.seed,
    loggingSteps: a.logging_steps,
    saveStrategy: a.save_strategy,
    saveSteps: a.save_steps,
    saveTotalLimit: a.save_total_limit,
    evalStrategy: a.eval_strategy,
    evalSteps: a.eval_steps,
    resumeFromCheckpoint: a.resume_from_checkpoint === "true" ? true : a.resume_from_checkpoint,
    plotLoss: a.plot_loss,
    optim: a.optim === "sgd" ? "sgd" : "adamw_torch",
    progress: progress ?? true,
  };
}

/** LlamaFactory refuses to train into a non-empty output_dir unless told to overwrite or resume. */
async function checkOutputDir(a: Args): Promise<void> {
  if (a.overwrite_output_dir || a.resume_from_checkpoint) return;
  try {
    for await (const e of Deno.readDir(a.output_dir)) {
      if (e.name.startsWith("checkpoint-") || e.name === "trainer_log.jsonl") {
        throw new Deno.errors.AlreadyExists(
          `Cannot train into "${a.output_dir}": it holds an earlier run; set overwrite_output_dir: true, or resume_from_checkpoint: true to continue it`,
        );
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function copyTokenizerFiles(from: string, to: string): Promise<void> {
  for (const f of TOKENIZER_FILES) {
    try {
      await copyFile(`${from}/${f}`, `${to}/${f}`);
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
    }
  }
}
