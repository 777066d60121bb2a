// The Stage plugin: a training stage (pt, sft, rm, dpo, ...) owns how examples become features,
// how features become a batch, and the loss of a model on a batch.

import type { Args } from "../config/schema.ts";
import type { Feature, HostBatch } from "../data/collate.ts";
import type { Example } from "../data/dataset_info.ts";
import type { Template, TemplateTokenizer } from "../data/template.ts";
import type { ForwardOptions } from "../model/decoder.ts";
import type { Plugin } from "../registry.ts";
import type { Module } from "../tensor/nn.ts";
import type { Tensor } from "../tensor/tensor.ts";

/** The data arguments a stage's encoding depends on (LlamaFactory's keys). */
export type StageArgs = Pick<
  Args,
  "cutoff_len" | "train_on_prompt" | "mask_history" | "packing" | "neat_packing" | "enable_thinking"
>;

/** A tokenizer (core/io/tokenizer.ts's) as stages read it, after the template fixed it. */
export interface StageTokenizer extends TemplateTokenizer {
  /** tokenizer_config.json (add_bos_token, ...). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly vocabSize?: number;
}

export interface StageContext {
  readonly tokenizer: StageTokenizer;
  readonly template: Template;
  readonly args: StageArgs;
}

export interface Prepared<F = Feature> {
  readonly features: F[];
  /** One line per kind of dropped example, with counts. */
  readonly warnings: string[];
}

export interface StageCollateOptions {
  readonly padTokenId: number;
  /** Overrides the stage's own choice (sft pads to multiples of 8 when training). */
  readonly padToMultipleOf?: number;
}

/** What a loss needs of a model: the shared decoder's hidden states and vocabulary head. */
export interface CausalLM {
  hidden(ids: Tensor, opts?: ForwardOptions): Tensor;
  logits(hidden: Tensor): Tensor;
}

export interface LossOptions {
  readonly gradientCheckpointing?: boolean;
  /**
   * Divide the summed token losses by this count instead of averaging over the batch's own tokens
   * (transformers' num_items_in_batch under gradient accumulation).
   */
  readonly numItems?: number;
  /** Rows of logits computed at once (default 1024), so a large vocabulary fits one binding. */
  readonly logitRows?: number;
  /** The model as it was before training (adapters off, or a frozen copy): DPO's reference. */
  readonly reference?: CausalLM;
  /** The run's arguments, for stages with keys of their own (pref_beta, pref_loss, ...). */
  readonly args?: Readonly<Args>;
  /** Takes a scalar metric of the batch (DPO's rewards/chosen, ...) for the training logs. */
  readonly metric?: (name: string, value: Tensor) => void;
  /** What the stage's createModules() made (rm: the value head). */
  readonly modules?: Module;
  /** Dropout seed of this micro-batch while training; null or absent: no dropout. */
  readonly dropoutSeed?: number | null;
}

/** Modules a stage trains beside the model's own parameters, saved in files of their own. */
export interface StageModules {
  readonly module: Module;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
}

export interface Stage<F = Feature, B = HostBatch> extends Plugin {
  readonly kind: "stage";
  /** Encodes examples into features (LlamaFactory's dataset processor for the stage). */
  prepare(examples: readonly Example[], ctx: StageContext): Prepared<F>;
  /** Pads and stacks features into one batch (LlamaFactory's data collator for the stage). */
  collate(features: readonly F[], opts: StageCollateOptions): B;
  /** Makes the modules the stage trains beside the model (rm: a value head of this width). */
  createModules?(hiddenSize: number, args: Readonly<Args>): StageModules;
  /** Whether loss() needs `opts.reference` under these arguments (DPO's sigmoid, hinge, ipo). */
  usesReference?(args: Readonly<Args>): boolean;
  /** The scalar training loss of `model` on `batch` (f32, differentiable). */
  loss(model: CausalLM, batch: B, opts?: LossOptions): Tensor;
}
