// The training loop, after transformers' Trainer as LlamaFactory drives it: micro-batches with
// gradient accumulation, global-norm clipping, AdamW or SGD at the scheduled rate, logs
// (trainer_log.jsonl, trainer_state.json, train_results.json), evaluation, checkpoints with
// exact resume, loss plots. A step records GPU work only; the loss is summed on the GPU and read
// back once per logging interval (with the last gradient norm in the same read).
//
// Loss normalisation, default "mean_per_micro_batch" (HF without `num_items_in_batch`):
// `loss(batch)` returns the mean over that micro-batch's tokens; each is scaled by 1/n for the n
// micro-batches of the step (gradient_accumulation_steps, or fewer for an epoch's last step), so
// the step's loss is the mean of its micro-batch means: equal to one large batch only when the
// micro-batches hold equal label counts. "num_items" (HF with `num_items_in_batch`): the loss
// gets `ctx.numItems`, the step's label count, returns its token-loss sum divided by it, and is
// not rescaled, so the step's loss is the token mean over the whole step.

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { backward, noGrad } from "../tensor/autograd.ts";
import { clipGradNorm } from "../tensor/clip.ts";
import type { Module } from "../tensor/nn.ts";
import { addInPlace } from "../tensor/ops/binary.ts";
import { cast } from "../tensor/ops/cast.ts";
import { zeros } from "../tensor/ops/creation.ts";
import { concat } from "../tensor/ops/shape.ts";
import { scale } from "../tensor/ops/unary.ts";
import { AdamW, type Optimizer, type ParamGroup, SGD } from "../tensor/optim.ts";
import { lrAt } from "../tensor/schedule.ts";
import { keep, scope } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import {
  CallbackHandler,
  type LogEntry,
  type TrainerCallback,
  type TrainerControl,
  type TrainerState,
} from "./callbacks.ts";
import {
  type CheckpointContents,
  checkpointPath,
  type DataPosition,
  fromHfState,
  latestCheckpoint,
  readCheckpoint,
  rotateCheckpoints,
  toHfState,
  TRAINER_STATE_NAME,
  writeCheckpoint,
} from "./checkpoint.ts";
import { formatDuration, HF_FLOATS, pyJson, pyRound, TrainerLog } from "./log.ts";
import {
  defaultParamGroups,
  type LossContext,
  type Plan,
  resolvePlan,
  type TrainBatch,
  type TrainData,
  type TrainerOptions,
} from "./options.ts";
import { plotLoss } from "./plot.ts";
import { ProgressBar } from "./progress.ts";

export interface TrainerInit<B extends TrainBatch> {
  model: Module;
  /**
   * Optimizer groups; default: the trainable parameters, with no weight decay on biases and
   * norms (transformers' `get_decay_parameter_names`). Give a function when `load` replaces the
   * model's parameters (resume), so the groups hold the loaded tensors.
   */
  paramGroups?: ParamGroup[] | ((model: Module) => ParamGroup[]);
  /** Builds the optimizer instead of AdamW/SGD over paramGroups (GaLore); called after load(). */
  optimizer?: () => Optimizer;
  args: TrainerOptions;
  /** Loss for one micro-batch (a scalar tensor); runs inside the trainer's scope. */
  loss: (batch: B, ctx: LossContext) => Tensor;
  trainData: TrainData<B>;
  evalData?: TrainData<B>;
  /** Writes the model or adapter files into `dir`. */
  save: (dir: string) => Promise<void>;
  /** Loads the model or adapter files `save` wrote into `dir` (needed to resume). */
  load?: (dir: string) => Promise<void>;
  callbacks?: TrainerCallback[];
}

/**
 * GPU running sums of a loss's own metrics (DPO's rewards/..., rm's accuracy) and how many
 * micro-batches reported each: a metric's mean is over the micro-batches that had it (KTO reports
 * rewards/chosen only when a batch holds a desirable reply). Read back with the loss.
 */
class MetricSums {
  readonly #sums = new Map<string, { sum: Tensor; count: number }>();
  /** The loss context's `metric`. */
  readonly add = (name: string, value: Tensor): void => {
    let m = this.#sums.get(name);
    if (!m) this.#sums.set(name, m = { sum: keep(zeros([])), count: 0 });
    addInPlace(m.sum, noGrad(() => cast(value, "f32")).view([]));
    m.count++;
  };
  get entries(): [string, Tensor, number][] {
    return [...this.#sums].map(([k, m]) => [k, m.sum, m.count]);
  }
  clear(): void {
    this.#sums.forEach((m) => m.sum.release());
    this.#sums.clear();
  }
}

/** transformers' train metrics (train_results.json). */
export interface TrainMetrics {
  epoch: number;
  total_flos: number;
  train_loss: number;
  train_runtime: number;
  train_samples_per_second: number;
  train_steps_per_second: number;
}

export interface TrainResult {
  globalStep: number;
  /** Mean step loss over the steps of this run. */
  trainingLoss: number;
  metrics: TrainMetrics;
  logHistory: LogEntry[];
}

/** One train() call's mutable state. */
interface Run {
  plan: Plan;
  state: TrainerState;
  control: TrainerControl;
  optimizer: Optimizer;
  pos: DataPosition;
  /** Sum of step losses since the last log, on the GPU. */
  lossSum: Tensor;
  /** The last step's gradient norm (before clipping), on the GPU. */
  norm: Tensor | null;
  /** Sums of the loss's own metrics since the last log (each step's micro-batch mean), on the GPU. */
  metricSums: MetricSums;
  stepsSinceLog: number;
  /** Host sum of the step losses read back so far. */
  lossTotal: number;
  startStep: number;
  startTime: number;
  tokens: number;
  microBatches: number;
  log: TrainerLog;
  progress: ProgressBar;
}

export class Trainer<B extends TrainBatch> {
  readonly model: Module;
  readonly args: TrainerOptions;
  readonly #init: TrainerInit<B>;
  readonly #callbacks: CallbackHandler;
  #run: Run | null = null;

  constructor(init: TrainerInit<B>) {
    this.model = init.model;
    this.args = init.args;
    this.#init = init;
    this.#callbacks = new CallbackHandler(init.callbacks ?? []);
  }

  /** Trains to the end (or a callback's stop) and writes the final model, state and logs. */
  async train(): Promise<TrainResult> {
    if (this.#run) throw new Error("Cannot start train(): this trainer is already training");
    const a = this.args;
    const plan = resolvePlan(a, {
      perEpoch: this.#init.trainData.length,
      hasEvalData: !!this.#init.evalData,
    });
    await Deno.mkdir(a.outputDir, { recursive: true });
    const resumeDir = await this.#resumeDir();
    let ckpt: CheckpointContents | null = null;
    if (resumeDir) {
      if (!this.#init.load) {
        throw new TypeError(
          `Cannot resume from checkpoint "${resumeDir}": the trainer was given no load callback`,
        );
      }
      ckpt = await readCheckpoint(resumeDir);
      await this.#init.load(resumeDir);
    }
    const state: TrainerState = ckpt
      ? { ...fromHfState(ckpt.trainerState), maxSteps: plan.total }
      : { globalStep: 0, maxSteps: plan.total, epoch: 0, numInputTokensSeen: 0, logHistory: [] };
    if (state.globalStep > plan.total) {
      throw new RangeError(
        `Cannot resume from checkpoint "${resumeDir}" at step ${state.globalStep}: the run has ${plan.total} steps`,
      );
    }
    const log = new TrainerLog(a.outputDir);
    await log.truncate(state.globalStep);
    const optimizer = this.#optimizer();
    const run: Run = {
      plan,
      state,
      control: { shouldTrainingStop: false },
      optimizer,
      pos: ckpt
        ? { epoch: ckpt.rng.epoch, batch: ckpt.rng.batch_in_epoch }
        : { epoch: 0, batch: 0 },
      lossSum: keep(zeros([])),
      norm: null,
      metricSums: new MetricSums(),
      stepsSinceLog: 0,
      lossTotal: 0,
      startStep: state.globalStep,
      startTime: performance.now(),
      tokens: 0,
      microBatches: 0,
      log,
      progress: new ProgressBar({ total: plan.total, enabled: a.progress ?? true }),
    };
    this.#run = run;
    try {
      if (ckpt) optimizer.loadState(ckpt.optimizer);
      await this.#callbacks.fire("onTrainBegin", [state, run.control]);
      await this.#loop(run);
      return await this.#finish(run);
    } finally {
      run.progress.finish();
      run.lossSum.release();
      run.norm?.release();
      run.metricSums.clear();
      optimizer.release();
      optimizer.zeroGrad();
      this.#run = null;
    }
  }

  /**
   * Mean loss over `evalData` (each batch's loss, averaged), under noGrad with one read-back;
   * returns transformers' eval metrics.
   */
  async evaluate(): Promise<Record<string, number>> {
    const data = this.#init.evalData;
    if (!data) throw new TypeError("Cannot evaluate: the trainer was given no evalData");
    const start = performance.now();
    const sums = new MetricSums();
    let n = 0;
    try {
      const step = this.#run?.state.globalStep ?? 0;
      for (const batch of data.batches(0, this.args.seed)) {
        scope(() =>
          noGrad(() => {
            const ctx = { globalStep: step, micro: n, seed: 0, training: false, metric: sums.add };
            sums.add("loss", scalarLoss(this.#init.loss(batch, ctx)));
          })
        );
        n++;
      }
      if (!n) throw new RangeError("Cannot evaluate: evalData yielded no batches");
      // transformers' eval_ names: eval_loss, eval_rewards/accuracies, ...
      const entries = sums.entries;
      const packed = scope(() => concat(entries.map(([, t]) => t.view([1])), 0));
      const host = await packed.data().finally(() => packed.release());
      const means = Object.fromEntries(entries.map(([k, , c], i) => [`eval_${k}`, host[i] / c]));
      const runtime = (performance.now() - start) / 1000;
      const samples = n * (this.args.perDeviceEvalBatchSize ?? this.args.perDeviceTrainBatchSize);
      return {
        eval_loss: means.eval_loss,
        ...means,
        eval_runtime: pyRound(runtime, 4),
        eval_samples_per_second: pyRound(samples / runtime, 3),
        eval_steps_per_second: pyRound(n / runtime, 3),
      };
    } finally {
      sums.clear();
    }
  }

  async #resumeDir(): Promise<string | null> {
    const r = this.args.resumeFromCheckpoint;
    if (r === undefined || r === false || r === "") return null;
    if (r !== true) return r;
    const latest = await latestCheckpoint(this.args.outputDir);
    if (!latest) {
      throw new Deno.errors.NotFound(
        `Cannot resume from the latest checkpoint: "${this.args.outputDir}" holds no "checkpoint-<step>" folder`,
      );
    }
    return latest;
  }

  #optimizer(): Optimizer {
    if (this.#init.optimizer) return this.#init.optimizer();
    const a = this.args, pg = this.#init.paramGroups;
    const groups = typeof pg === "function"
      ? pg(this.model)
      : pg ?? defaultParamGroups(this.model, a.weightDecay);
    for (const p of groups.flatMap((g) => g.params)) {
      if (p.released) {
        throw new TypeError(
          `Cannot build the optimizer: parameter ${
            p.name ? `"${p.name}"` : `#${p.id}`
          } was released (did load() replace it? give paramGroups as a function of the model)`,
        );
      }
    }
    if (!groups.some((g) => g.params.length)) {
      throw new TypeError("Cannot train: the model has no trainable parameters");
    }
    if (a.optim === "sgd") {
      return new SGD(groups, { lr: a.learningRate, weightDecay: a.weightDecay });
    }
    if ((a.optim ?? "adamw_torch") !== "adamw_torch") {
      throw new TypeError(`Cannot find optimizer "${a.optim}": expected "adamw_torch" or "sgd"`);
    }
    return new AdamW(groups, {
      lr: a.learningRate,
      betas: [a.adamBeta1, a.adamBeta2],
      eps: a.adamEpsilon,
      weightDecay: a.weightDecay,
    });
  }

  async #loop(run: Run): Promise<void> {
    const { plan, state } = run;
    let { epoch, batch } = run.pos;
    while (state.globalStep < plan.total && !run.control.shouldTrainingStop) {
      if (batch >= plan.perEpoch) [epoch, batch] = [epoch + 1, 0];
      const it = this.#init.trainData.batches(epoch, this.args.seed)[Symbol.iterator]();
      let ended = false;
      try {
        // Resuming mid-epoch: the order is a function of (epoch, seed), so skip what was used.
        for (let i = 0; i < batch && !ended; i++) ended = !!it.next().done;
        while (!ended && batch < plan.perEpoch && state.globalStep < plan.total) {
          const group: B[] = [];
          while (group.length < plan.accum && batch + group.length < plan.perEpoch) {
            const r = it.next();
            if (r.done) {
              ended = true;
              break;
            }
            group.push(r.value);
          }
          if (!group.length) break;
          const lr = lrAt(state.globalStep, plan.schedule);
          await this.#step(run, group, lr);
          batch += group.length;
          state.globalStep++;
          state.epoch = epoch + batch / plan.perEpoch;
          const tokens = group.reduce((s, b) => s + (b.tokens || 0), 0);
          state.numInputTokensSeen += tokens;
          run.tokens += tokens;
          run.microBatches += group.length;
          run.pos = { epoch, batch };
          await this.#afterStep(run, lr);
          if (run.control.shouldTrainingStop) return;
        }
      } finally {
        it.return?.();
      }
      if (ended || batch >= plan.perEpoch) {
        if (this.args.evalStrategy === "epoch") await this.#evaluateAndLog(run);
        if (plan.saveStrategy === "epoch") await this.#checkpoint(run);
        [epoch, batch] = [epoch + 1, 0];
        run.pos = { epoch, batch };
      }
    }
  }

  /** One optimizer step: records GPU work, reading back only what optimizer.prepare() needs. */
  async #step(run: Run, group: readonly B[], lr: number): Promise<void> {
    const { state, optimizer } = run;
    const numItems = this.args.lossNormalization === "num_items" ? countItems(group) : undefined;
    scope(() =>
      group.forEach((b, micro) =>
        scope(() => {
          const seed = stepSeed(this.args.seed, state.globalStep, micro);
          const metric = run.metricSums.add;
          const ctx = {
            globalStep: state.globalStep,
            micro,
            seed,
            training: true,
            numItems,
            metric,
          };
          const loss = scalarLoss(this.#init.loss(b, ctx));
          const scaled = numItems === undefined ? scale(loss, 1 / group.length) : loss;
          backward(scaled);
          addInPlace(run.lossSum, scaled.view([]));
        })
      )
    );
    await optimizer.prepare();
    scope(() => {
      if (this.args.maxGradNorm > 0) {
        const norm = keep(clipGradNorm(optimizer.params, this.args.maxGradNorm));
        run.norm?.release();
        run.norm = norm;
      }
      optimizer.step(lr);
      optimizer.zeroGrad();
    });
  }

  async #afterStep(run: Run, lr: number): Promise<void> {
    const { plan, state, control } = run;
    run.stepsSinceLog++;
    await this.#callbacks.fire("onStepEnd", [state, control]);
    const last = state.globalStep >= plan.total;
    if (state.globalStep % plan.logEvery === 0) await this.#logLoss(run, lr);
    if (plan.evalEvery && state.globalStep % plan.evalEvery === 0) await this.#evaluateAndLog(run);
    // transformers also saves at the last step under any strategy but "no".
    const save = plan.saveEvery ? state.globalStep % plan.saveEvery === 0 || last : false;
    if (save) await this.#checkpoint(run);
  }

  async #logLoss(run: Run, lr: number): Promise<void> {
    const { state } = run;
    const metrics = run.metricSums.entries;
    const parts = [run.lossSum, ...(run.norm ? [run.norm] : []), ...metrics.map(([, t]) => t)];
    const packed = scope(() => noGrad(() => concat(parts.map((t) => t.view([1])), 0)));
    let host: ArrayLike<number>;
    try {
      host = await packed.data(); // the one read-back of this logging interval
    } finally {
      packed.release();
    }
    // transformers' keys and order; learning_rate is the rate this step used.
    const entry: LogEntry = {
      loss: host[0] / run.stepsSinceLog,
      ...(run.norm ? { grad_norm: host[1] } : {}),
      learning_rate: lr,
      epoch: state.epoch,
      step: state.globalStep,
    };
    const offset = run.norm ? 2 : 1;
    metrics.forEach(([name, , count], k) => entry[name] = host[offset + k] / count);
    run.metricSums.clear();
    run.lossTotal += host[0];
    run.stepsSinceLog = 0;
    run.lossSum.release();
    run.lossSum = keep(zeros([]));
    await this.#emit(run, entry);
  }

  async #evaluateAndLog(run: Run): Promise<void> {
    const metrics = await this.evaluate();
    const entry: LogEntry = { ...metrics, epoch: run.state.epoch, step: run.state.globalStep };
    run.progress.message(
      `step ${run.state.globalStep}: eval_loss ${metrics.eval_loss.toFixed(4)}`,
    );
    await this.#emit(run, entry);
    await this.#callbacks.fire("onEvaluate", [run.state, metrics, run.control]);
  }

  /** Adds `entry` to the history, trainer_log.jsonl, the progress bar and the callbacks. */
  async #emit(run: Run, entry: LogEntry): Promise<void> {
    const { state, plan } = run;
    state.logHistory.push(entry);
    const elapsed = (performance.now() - run.startTime) / 1000;
    const done = state.globalStep - run.startStep;
    const remaining = done > 0 ? ((plan.total - state.globalStep) * elapsed) / done : 0;
    const tokensPerS = run.tokens > 0 && elapsed > 0 ? run.tokens / elapsed : undefined;
    await run.log.append({
      current_steps: state.globalStep,
      total_steps: plan.total,
      loss: entry.loss,
      eval_loss: entry.eval_loss,
      // LlamaFactory's LogCallback names for the preference stages' metrics.
      reward: entry["rewards/chosen"],
      accuracy: entry["rewards/accuracies"] ?? entry.accuracy,
      lr: entry.learning_rate,
      epoch: entry.epoch,
      percentage: pyRound((state.globalStep / plan.total) * 100, 2),
      elapsed_time: formatDuration(elapsed),
      remaining_time: formatDuration(remaining),
      throughput: tokensPerS === undefined ? undefined : pyRound(tokensPerS, 2),
      total_tokens: state.numInputTokensSeen || undefined,
    });
    if (entry.loss !== undefined) {
      run.progress.update({
        step: state.globalStep,
        epoch: state.epoch,
        loss: entry.loss,
        lr: entry.learning_rate,
        elapsedS: elapsed,
        remainingS: remaining,
        tokensPerS,
      });
    }
    await this.#callbacks.fire("onLog", [state, entry, run.control]);
  }

  async #checkpoint(run: Run): Promise<void> {
    const { state, plan } = run;
    const dir = checkpointPath(this.args.outputDir, state.globalStep);
    await writeCheckpoint(dir, {
      save: this.#init.save,
      optimizer: await run.optimizer.state(),
      scheduler: {
        type: plan.schedule.type,
        last_epoch: state.globalStep,
        base_lr: plan.schedule.baseLr,
        last_lr: lrAt(state.globalStep, plan.schedule),
      },
      rng: { seed: this.args.seed, epoch: run.pos.epoch, batch_in_epoch: run.pos.batch },
      trainerState: toHfState(state, plan.info),
      args: { ...this.args },
    });
    await rotateCheckpoints(this.args.outputDir, this.args.saveTotalLimit ?? 0);
    await this.#callbacks.fire("onSave", [state, dir, run.control]);
  }

  async #finish(run: Run): Promise<TrainResult> {
    const { state, plan } = run;
    const a = this.args;
    if (run.stepsSinceLog > 0) run.lossTotal += await run.lossSum.item();
    const runtime = (performance.now() - run.startTime) / 1000;
    const steps = state.globalStep - run.startStep;
    const trainingLoss = steps > 0 ? run.lossTotal / steps : 0;
    const metrics: TrainMetrics = {
      epoch: state.epoch,
      total_flos: 0,
      train_loss: trainingLoss,
      train_runtime: pyRound(runtime, 4),
      train_samples_per_second: pyRound(
        (run.microBatches * a.perDeviceTrainBatchSize) / runtime,
        3,
      ),
      train_steps_per_second: pyRound(steps / runtime, 3),
    };
    await this.#emit(run, { ...metrics, step: state.globalStep });
    await this.#callbacks.fire("onTrainEnd", [state, run.control]);
    run.progress.finish();
    await this.#init.save(a.outputDir);
    const dumps = (v: unknown, indent: number) =>
      pyJson(v, { indent, sortKeys: true, floats: HF_FLOATS });
    await writeFileAtomic(
      join(a.outputDir, TRAINER_STATE_NAME),
      dumps(toHfState(state, plan.info), 2) + "\n",
    );
    await writeFileAtomic(join(a.outputDir, "train_results.json"), dumps(metrics, 4));
    const allPath = join(a.outputDir, "all_results.json");
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(await Deno.readTextFile(allPath));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) && !(e instanceof SyntaxError)) throw e;
    }
    await writeFileAtomic(allPath, dumps({ ...all, ...metrics }, 4));
    if (a.plotLoss) await plotLoss(a.outputDir, state.logHistory, ["loss", "eval_loss"]);
    return { globalStep: state.globalStep, trainingLoss, metrics, logHistory: state.logHistory };
  }
}

/** The loss as an f32 one-element tensor (its gradient history kept). */
function scalarLoss(loss: Tensor): Tensor {
  if (loss.size !== 1) {
    throw new TypeError(
      `Cannot train on a loss of shape [${loss.shape}]: expected a scalar (one element)`,
    );
  }
  return loss.dtype === "f32" ? loss : cast(loss, "f32");
}

/** Labelled tokens of a step's micro-batches. */
function countItems(group: readonly TrainBatch[]): number {
  let n = 0;
  for (const b of group) {
    if (!(Number.isInteger(b.labelTokens) && b.labelTokens! >= 0)) {
      throw new TypeError(
        `Cannot use lossNormalization "num_items": a batch has labelTokens ${b.labelTokens}, expected an integer >= 0`,
      );
    }
    n += b.labelTokens!;
  }
  return Math.max(n, 1);
}

/** A 32-bit seed mixed from (seed, step, micro) (murmur3's finaliser constants). */
function stepSeed(seed: number, step: number, micro: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ step, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ micro, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
