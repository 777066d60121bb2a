import assert from "node:assert/strict";
import { join } from "node:path";
import * as T from "../../../core/tensor/mod.ts";
import { Trainer } from "../../../core/train/mod.ts";
import { copyBatch } from "../../../cli/demo.ts";
import type { TrainerOptions } from "../../../core/train/mod.ts";
import {
  type CopyBatch,
  copyData,
  copyLoss,
  copyTaskModel,
  fixedData,
  maxWeightDiff,
  readJsonl,
  testArgs,
  weights,
  withCounts,
} from "./_copy_task.ts";

await T.initGpu();

const noSave = () => Promise.resolve();

Deno.test("train() makes the copy-task loss fall", async () => {
  const dir = await Deno.makeTempDir();
  const model = copyTaskModel(3);
  try {
    const trainer = new Trainer({
      model,
      args: testArgs(dir, { maxSteps: 40, loggingSteps: 10, perDeviceTrainBatchSize: 8 }),
      loss: copyLoss(model),
      trainData: copyData({ batches: 50, batch: 8 }),
      save: noSave,
    });
    const result = await trainer.train();
    const losses = result.logHistory.filter((e) => e.loss !== undefined).map((e) => e.loss!);
    assert.equal(losses.length, 4);
    assert.ok(losses[0] > 2, `the first logged loss ${losses[0]} should be near ln(16)`);
    assert.ok(losses[3] < 0.85 * losses[0], `loss fell only from ${losses[0]} to ${losses[3]}`);
    assert.equal(result.globalStep, 40);
    // train_loss is the mean of all step losses: the mean of the four interval means here.
    const mean = losses.reduce((a, b) => a + b, 0) / 4;
    assert.ok(Math.abs(result.trainingLoss - mean) < 1e-5 * mean);
  } finally {
    model.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gradient accumulation of 2 micro-batches of 4 updates like one batch of 8", async () => {
  // SGD's update is linear in the gradient, so equal gradients give equal weights.
  const run = async (batches: number, batch: number, accum: number) => {
    const dir = await Deno.makeTempDir();
    const model = copyTaskModel(5);
    try {
      const before = await weights(model);
      const trainer = new Trainer({
        model,
        args: testArgs(dir, {
          maxSteps: 1,
          optim: "sgd",
          learningRate: 0.5,
          lrSchedulerType: "constant",
          maxGradNorm: 0,
          perDeviceTrainBatchSize: batch,
          gradientAccumulationSteps: accum,
        }),
        loss: copyLoss(model),
        trainData: copyData({ batches, batch }),
        save: noSave,
      });
      const result = await trainer.train();
      return { before, after: await weights(model), loss: result.logHistory[0].loss! };
    } finally {
      model.release();
      await Deno.remove(dir, { recursive: true });
    }
  };
  const accumulated = await run(2, 4, 2);
  const single = await run(1, 8, 1);
  assert.ok(maxWeightDiff(accumulated.before, accumulated.after) > 1e-3, "weights did not move");
  const diff = maxWeightDiff(accumulated.after, single.after);
  assert.ok(diff < 1e-5, `weights differ by ${diff}`);
  assert.ok(Math.abs(accumulated.loss - single.loss) < 1e-5 * single.loss);
});

Deno.test("num_items normalisation matches one batch when micro-batches hold unequal labels", async () => {
  // One batch of 8 whose first 4 sequences keep only one label each; split, the halves hold 4
  // and 12 labels, so the mean of micro-batch means weighs the first half's tokens 3x too much.
  const rng = new T.Rng(11);
  const whole = copyBatch(rng, 8, 3);
  const t = whole.shape[1];
  for (let i = 0; i < 4 * t; i++) if (i % t !== t - 1) whole.labels[i] = -100;
  const half = (k: number) =>
    withCounts({
      ids: whole.ids.slice(k * 4 * t, (k + 1) * 4 * t),
      labels: whole.labels.slice(k * 4 * t, (k + 1) * 4 * t),
      shape: [4, t],
    });
  const run = async (
    batches: CopyBatch[],
    accum: number,
    lossNormalization: TrainerOptions["lossNormalization"],
  ) => {
    const dir = await Deno.makeTempDir();
    const model = copyTaskModel(5);
    try {
      const result = await new Trainer({
        model,
        args: testArgs(dir, {
          maxSteps: 1,
          optim: "sgd",
          learningRate: 0.5,
          lrSchedulerType: "constant",
          maxGradNorm: 0,
          gradientAccumulationSteps: accum,
          lossNormalization,
        }),
        loss: copyLoss(model),
        trainData: fixedData(batches),
        save: noSave,
      }).train();
      return { after: await weights(model), loss: result.logHistory[0].loss! };
    } finally {
      model.release();
      await Deno.remove(dir, { recursive: true });
    }
  };
  const single = await run([withCounts(whole)], 1, "mean_per_micro_batch");
  const items = await run([half(0), half(1)], 2, "num_items");
  const means = await run([half(0), half(1)], 2, "mean_per_micro_batch");
  assert.ok(maxWeightDiff(items.after, single.after) < 1e-5);
  assert.ok(Math.abs(items.loss - single.loss) < 1e-5 * single.loss);
  assert.ok(maxWeightDiff(means.after, single.after) > 1e-4, "the two normalisations agreed");
});

Deno.test("logged learning rates, epochs and trainer_log.jsonl follow LlamaFactory", async () => {
  const dir = await Deno.makeTempDir();
  const model = copyTaskModel(1);
  try {
    const args = testArgs(dir, {
      numTrainEpochs: 2,
      lrSchedulerType: "cosine",
      warmupRatio: 0.25,
      gradientAccumulationSteps: 2,
      learningRate: 3e-3,
    });
    // 5 micro-batches, 2 per step: 3 steps per epoch (the last takes one), 6 in all.
    const result = await new Trainer({
      model,
      args,
      loss: copyLoss(model),
      trainData: copyData({ batches: 5, batch: 4 }),
      save: noSave,
    }).train();
    const total = 6, warmup = Math.ceil(total * 0.25);
    const lines = await readJsonl(join(dir, "trainer_log.jsonl"));
    assert.equal(lines.length, total + 1);
    const consumed = [2, 4, 5, 2, 4, 5];
    for (let k = 1; k <= total; k++) {
      const line = lines[k - 1];
      assert.deepEqual(Object.keys(line), [
        "current_steps",
        "total_steps",
        "loss",
        "lr",
        "epoch",
        "percentage",
        "elapsed_time",
        "remaining_time",
        "throughput",
        "total_tokens",
      ]);
      assert.equal(line.current_steps, k);
      assert.equal(line.total_steps, total);
      const want = T.lrAt(k - 1, {
        type: "cosine",
        baseLr: 3e-3,
        warmupSteps: warmup,
        totalSteps: total,
      });
      assert.ok(
        Math.abs((line.lr as number) - want) <= 1e-12,
        `step ${k}: lr ${line.lr} != ${want}`,
      );
      assert.equal(line.epoch, (k > 3 ? 1 : 0) + consumed[k - 1] / 5);
      assert.equal(line.percentage, Math.round((k / total) * 100 * 100) / 100);
      assert.match(line.elapsed_time as string, /^\d+:\d\d:\d\d$/);
      assert.match(line.remaining_time as string, /^\d+:\d\d:\d\d$/);
      assert.equal(line.total_tokens, [2, 4, 5, 7, 9, 10][k - 1] * 4 * 7);
    }
    // The summary line of the end of training, as transformers' final log() produces.
    assert.deepEqual(Object.keys(lines[total]), [
      "current_steps",
      "total_steps",
      "epoch",
      "percentage",
      "elapsed_time",
      "remaining_time",
      "throughput",
      "total_tokens",
    ]);
    const raw = (await Deno.readTextFile(join(dir, "trainer_log.jsonl"))).split("\n");
    // Python's json.dumps: ", " and ": " separators, floats keep ".0" (the warmup's lr 0).
    assert.match(raw[0], /^\{"current_steps": 1, "total_steps": 6, "loss": \d\.\d+, "lr": 0\.0, /);
    assert.match(raw[total], /"epoch": 2\.0, "percentage": 100\.0, /);

    const results = JSON.parse(await Deno.readTextFile(join(dir, "train_results.json")));
    assert.deepEqual(Object.keys(results), [
      "epoch",
      "total_flos",
      "train_loss",
      "train_runtime",
      "train_samples_per_second",
      "train_steps_per_second",
    ]);
    assert.equal(results.epoch, 2);
    assert.ok(Math.abs(results.train_loss - result.trainingLoss) < 1e-9);
    const state = JSON.parse(await Deno.readTextFile(join(dir, "trainer_state.json")));
    assert.equal(state.global_step, total);
    assert.equal(state.log_history.length, total + 1);
    assert.deepEqual(Object.keys(state.log_history[0]).sort(), [
      "epoch",
      "grad_norm",
      "learning_rate",
      "loss",
      "step",
    ]);
  } finally {
    model.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train() reads back only at logging steps and frees what it allocated", async () => {
  const dir = await Deno.makeTempDir();
  const model = copyTaskModel(2);
  const g = T.gpu();
  const read = g.read;
  let reads = 0;
  const held = g.pool.bytesInUse;
  g.read = function (...args: Parameters<typeof read>) {
    reads++;
    return read.apply(this, args);
  };
  try {
    const result = await new Trainer({
      model,
      args: testArgs(dir, { maxSteps: 8, loggingSteps: 4 }),
      loss: copyLoss(model),
      trainData: copyData({ batches: 8, batch: 2 }),
      save: noSave,
    }).train();
    assert.equal(result.logHistory.filter((e) => e.loss !== undefined).length, 2);
    assert.equal(reads, 2);
    assert.equal(g.pool.bytesInUse, held, "GPU memory in use changed across train()");
  } finally {
    g.read = read;
    model.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation logs the mean eval loss at eval steps and plots it", async () => {
  const dir = await Deno.makeTempDir();
  const model = copyTaskModel(4);
  try {
    const evalData = copyData({ batches: 3, batch: 4, salt: 99 });
    const trainer = new Trainer({
      model,
      args: testArgs(dir, {
        maxSteps: 4,
        loggingSteps: 2,
        evalStrategy: "steps",
        evalSteps: 2,
        plotLoss: true,
      }),
      loss: copyLoss(model),
      trainData: copyData({ batches: 10, batch: 4 }),
      evalData,
      save: noSave,
    });
    const result = await trainer.train();
    const evals = result.logHistory.filter((e) => e.eval_loss !== undefined);
    assert.deepEqual(evals.map((e) => e.step), [2, 4]);
    // The model no longer changes after step 4, so evaluating again gives step 4's value.
    const again = await trainer.evaluate();
    assert.ok(Math.abs(again.eval_loss - evals[1].eval_loss!) < 1e-6);
    const loss = copyLoss(model);
    let sum = 0;
    for (const b of evalData.batches(0, 42)) {
      const l = T.noGrad(() => loss(b));
      sum += await l.item();
      l.release();
    }
    assert.ok(Math.abs(again.eval_loss - sum / 3) < 1e-5);
    const lines = await readJsonl(join(dir, "trainer_log.jsonl"));
    const evalLines = lines.filter((l) => "eval_loss" in l);
    assert.deepEqual(evalLines.map((l) => l.current_steps), [2, 4]);
    assert.ok(!("lr" in evalLines[0]) && !("loss" in evalLines[0]));
    for (const name of ["training_loss.png", "training_eval_loss.png"]) {
      const stat = await Deno.stat(join(dir, name));
      assert.ok(stat.size > 100, `${name} is missing or empty`);
    }
  } finally {
    model.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Trainer rejects bad options with clear errors", async () => {
  const model = copyTaskModel(0);
  try {
    const make = (o: Parameters<typeof testArgs>[1]) =>
      new Trainer({
        model,
        args: testArgs("/nonexistent/never-written", o),
        loss: copyLoss(model),
        trainData: copyData({ batches: 2, batch: 2 }),
        save: noSave,
      }).train();
    await assert.rejects(make({ gradientAccumulationSteps: 0 }), RangeError);
    await assert.rejects(make({ evalStrategy: "steps" }), /without evalData/);
    await assert.rejects(
      make({ maxSteps: 2, lrSchedulerType: "cosine_with_min_lr" }),
      /minLr or minLrRate/,
    );
  } finally {
    model.release();
  }
});

Deno.test("a loss's metrics are averaged over the micro-batches that report them, in training and eval", async () => {
  const dir = await Deno.makeTempDir();
  const model = copyTaskModel(3);
  const inner = copyLoss(model);
  try {
    const trainer = new Trainer({
      model,
      args: testArgs(dir, {
        maxSteps: 4,
        loggingSteps: 2,
        gradientAccumulationSteps: 2,
        perDeviceTrainBatchSize: 4,
        evalStrategy: "steps",
        evalSteps: 4,
      }),
      // "every" = 10 × step + micro on every micro-batch; "odd" only on micro-batch 1.
      loss: (batch, ctx) => {
        ctx.metric?.("every", T.full([], 10 * ctx.globalStep + ctx.micro));
        if (ctx.micro === 1) ctx.metric?.("odd", T.full([], 10 * ctx.globalStep + 1));
        return inner(batch, ctx);
      },
      trainData: copyData({ batches: 8, batch: 4 }),
      evalData: copyData({ batches: 3, batch: 4 }),
      save: noSave,
    });
    const result = await trainer.train();
    const logs = result.logHistory.filter((e) => e.loss !== undefined);
    // Steps 0 and 1 (globalStep before the step): every = mean(0, 1, 10, 11), odd = mean(1, 11).
    assert.deepEqual([logs[0].every, logs[0].odd], [5.5, 6]);
    assert.deepEqual([logs[1].every, logs[1].odd], [25.5, 26]);
    // Evaluation: micro counts the eval batches 0, 1, 2 at globalStep 4.
    const ev = result.logHistory.find((e) => e.eval_loss !== undefined)!;
    assert.deepEqual([ev.eval_every, ev.eval_odd], [41, 41]);
  } finally {
    model.release();
    await Deno.remove(dir, { recursive: true });
  }
});
