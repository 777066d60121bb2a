// The trainer's options (transformers' TrainingArguments as LlamaFactory uses them, camelCase),
// the data and loss interfaces, and how options resolve into a run's numbers as transformers
// computes them (total steps, warmup, logging/eval/save intervals, weight-decay groups).

import type { Module } from "../tensor/nn.ts";
import type { ParamGroup } from "../tensor/optim.ts";
import { lrAt, type ScheduleOptions, type ScheduleType } from "../tensor/schedule.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { StateInfo } from "./checkpoint.ts";

/** What every batch tells the trainer; stages add their tensors' host data. */
export interface TrainBatch {
  /** Non-padding tokens in the batch (for tokens/s and `total_tokens`). */
  tokens: number;
  /** Tokens that carry a label (needed by lossNormalization "num_items"). */
  labelTokens?: number;
}

/** A dataset of micro-batches whose order depends only on (epoch, seed). */
export interface TrainData<B> {
  /** Micro-batches per epoch (transformers' len(dataloader)). */
  readonly length: number;
  batches(epoch: number, seed: number): Iterable<B>;
}

/** Passed to `loss` with each micro-batch. */
export interface LossContext {
  /** Optimizer steps done before this one. */
  globalStep: number;
  /** Index of the micro-batch within the step. */
  micro: number;
  /** A seed for dropout that depends only on (seed, step, micro), so resumed runs repeat it. */
  seed: number;
  /** False during evaluation (which also runs under noGrad). */
  training: boolean;
  /**
   * With lossNormalization "num_items": labelled tokens over all micro-batches of the step;
   * return the summed token loss divided by it.
   */
  numItems?: number;
  /** Reports a scalar of this micro-batch (DPO's rewards/chosen, ...), averaged into the logs. */
  metric?: (name: string, value: Tensor) => void;
}

export type IntervalStrategy = "no" | "steps" | "epoch";

/** transformers' TrainingArguments as LlamaFactory uses them, in camelCase. */
export interface TrainerOptions {
  outputDir: string;
  /** Total optimizer steps; when > 0 it overrides numTrainEpochs. */
  maxSteps?: number;
  /** Epochs (fractions allowed); default 3. */
  numTrainEpochs?: number;
  perDeviceTrainBatchSize: number;
  /** Examples per evaluation batch, for eval_samples_per_second (default: the train size). */
  perDeviceEvalBatchSize?: number;
  gradientAccumulationSteps: number;
  learningRate: number;
  lrSchedulerType: ScheduleType;
  /** Extra schedule options (numCycles, power, lrEnd, minLr, minLrRate, timescale). */
  lrSchedulerKwargs?: Omit<ScheduleOptions, "type" | "baseLr" | "warmupSteps" | "totalSteps">;
  warmupRatio: number;
  /** When > 0, overrides warmupRatio. */
  warmupSteps: number;
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Clip the global gradient norm to this; 0 disables clipping. */
  maxGradNorm: number;
  seed: number;
  /** Steps between logs; a value below 1 is a share of the total steps (as transformers). */
  loggingSteps: number;
  saveStrategy?: IntervalStrategy;
  saveSteps: number;
  /** Keep at most this many checkpoints (oldest removed); unset or 0 keeps all. */
  saveTotalLimit?: number;
  /** Default: loggingSteps. */
  evalSteps?: number;
  evalStrategy: IntervalStrategy;
  /** A checkpoint folder, or true for the newest `checkpoint-<step>` in outputDir. */
  resumeFromCheckpoint?: string | boolean;
  plotLoss: boolean;
  optim?: "adamw_torch" | "sgd";
  /** Progress bar on stderr (default true). */
  progress?: boolean;
  /** How micro-batch losses combine (see the top of trainer.ts); default "mean_per_micro_batch". */
  lossNormalization?: "mean_per_micro_batch" | "num_items";
}

/** transformers' defaults for everything but the output folder. */
export const TRAINER_DEFAULTS: Readonly<Omit<TrainerOptions, "outputDir">> = {
  numTrainEpochs: 3,
  maxSteps: -1,
  perDeviceTrainBatchSize: 8,
  gradientAccumulationSteps: 1,
  learningRate: 5e-5,
  lrSchedulerType: "linear",
  warmupRatio: 0,
  warmupSteps: 0,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  seed: 42,
  loggingSteps: 500,
  saveStrategy: "steps",
  saveSteps: 500,
  evalStrategy: "no",
  plotLoss: false,
  optim: "adamw_torch",
  progress: true,
};

/** The run's resolved numbers. */
export interface Plan {
  total: number;
  perEpoch: number;
  accum: number;
  numEpochs: number;
  logEvery: number;
  evalEvery: number;
  saveEvery: number;
  saveStrategy: IntervalStrategy;
  schedule: ScheduleOptions;
  info: StateInfo;
}

// transformers' forbidden_name_patterns for weight decay (biases and norm weights).
const NO_DECAY = /bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.)/;

/** The run's numbers from the options and the data size; throws on invalid options. */
export function resolvePlan(
  a: TrainerOptions,
  data: { perEpoch: number; hasEvalData: boolean },
): Plan {
  const perEpoch = data.perEpoch;
  const accum = a.gradientAccumulationSteps;
  positiveInt("trainData.length", perEpoch);
  positiveInt("gradientAccumulationSteps", accum);
  positiveInt("perDeviceTrainBatchSize", a.perDeviceTrainBatchSize);
  const updatesPerEpoch = Math.ceil(perEpoch / accum);
  const maxSteps = a.maxSteps ?? -1;
  const epochs = a.numTrainEpochs ?? 3;
  if (!(maxSteps > 0) && !(epochs > 0)) {
    throw new RangeError(
      `Cannot train for ${epochs} epochs without maxSteps > 0: expected a positive number`,
    );
  }
  if (maxSteps > 0) positiveInt("maxSteps", maxSteps);
  const total = maxSteps > 0 ? maxSteps : Math.ceil(epochs * updatesPerEpoch);
  const numEpochs = maxSteps > 0 ? Math.ceil(maxSteps / updatesPerEpoch) : Math.ceil(epochs);
  const steps = (name: string, x: number) => {
    if (!(x > 0)) {
      throw new RangeError(`Cannot train with ${name} ${x}: expected a positive number`);
    }
    return x < 1 ? Math.ceil(total * x) : Math.round(x);
  };
  const logEvery = steps("loggingSteps", a.loggingSteps);
  const evalEvery = a.evalStrategy === "steps" ? steps("evalSteps", a.evalSteps ?? logEvery) : 0;
  const saveStrategy = a.saveStrategy ?? "steps";
  const saveEvery = saveStrategy === "steps" ? steps("saveSteps", a.saveSteps) : 0;
  if (a.evalStrategy !== "no" && !data.hasEvalData) {
    throw new TypeError(
      `Cannot use evalStrategy "${a.evalStrategy}" without evalData: give evalData or use "no"`,
    );
  }
  const warmup = a.warmupSteps > 0 ? a.warmupSteps : Math.ceil(total * a.warmupRatio);
  const schedule: ScheduleOptions = {
    ...a.lrSchedulerKwargs,
    type: a.lrSchedulerType,
    baseLr: a.learningRate,
    warmupSteps: warmup,
    totalSteps: total,
  };
  lrAt(0, schedule); // throws now on an unknown or incomplete schedule
  return {
    total,
    perEpoch,
    accum,
    numEpochs,
    logEvery,
    evalEvery,
    saveEvery,
    saveStrategy,
    schedule,
    info: {
      loggingSteps: logEvery,
      evalSteps: evalEvery || logEvery,
      saveSteps: saveEvery || a.saveSteps,
      numTrainEpochs: numEpochs,
      trainBatchSize: a.perDeviceTrainBatchSize,
    },
  };
}

/** Trainable parameters in two groups: with weight decay, and without (biases, norms). */
export function defaultParamGroups(model: Module, weightDecay: number): ParamGroup[] {
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (p.requiresGrad) (NO_DECAY.test(name.toLowerCase()) ? noDecay : decay).push(p);
  }
  return [{ params: decay, weightDecay }, { params: noDecay, weightDecay: 0 }]
    .filter((g) => g.params.length);
}

function positiveInt(name: string, x: number): void {
  if (!(Number.isInteger(x) && x > 0)) {
    throw new RangeError(`Cannot train with ${name} ${x}: expected a positive integer`);
  }
}
