// The board's runs other than training, driven over fetch: a benchmark (cli.ts eval) and a
// prediction (do_predict) whose metrics come back in the state, an export whose written path
// comes back, one child at a time across kinds, and a failing child's error.
import assert from "node:assert/strict";
import { parseScores } from "../../board/run_result.ts";
import type { LogEntry, RunEvent, RunState } from "../../board/runs.ts";
import { loadTask } from "../../core/eval/mod.ts";
import { parseProgressLine } from "../../core/train/progress.ts";
import { MODEL, readEvents, serve, tmpSaves } from "./_serve.ts";

/** The progress events and output lines of the runs of `s` from now on. */
function record(s: ReturnType<typeof serve>) {
  const progress: LogEntry[] = [], output: string[] = [];
  s.board.runs.subscribe((e: RunEvent) => {
    if (e.type === "progress") progress.push(e.entry);
    if (e.type === "output") output.push(e.line);
  });
  return { progress, output };
}

/** Progress from 0 up to `total`, never going back, the bar's lines kept out of the output. */
function assertProgress(seen: ReturnType<typeof record>, total: number): void {
  const { progress, output } = seen;
  assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(progress)}`);
  assert.equal(progress[0].current_steps, 0);
  assert.ok(progress.every((e) => e.total_steps === total), JSON.stringify(progress));
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i].current_steps > progress[i - 1].current_steps, "increasing");
  }
  const last = progress.at(-1)!;
  assert.equal(last.current_steps, total);
  assert.equal(last.percentage, 100);
  assert.match(last.elapsed_time ?? "", /^\d+:\d\d:\d\d$/);
  assert.equal(last.remaining_time, "0:00:00");
  assert.ok(!output.some((l) => parseProgressLine(l)), output.join("\n"));
}

async function finished(s: ReturnType<typeof serve>): Promise<RunState> {
  await s.board.runs.wait();
  return (await (await s.get("/api/runs/current")).json()) as RunState;
}

Deno.test("board eval run on tinyqa shows the accuracies it saved, with progress", async () => {
  await using s = serve();
  const dir = tmpSaves("board_eval");
  const seen = record(s);
  try {
    const res = await s.post("/api/runs", {
      kind: "eval",
      values: { ...MODEL, task: "tinyqa_test", task_dir: "evaluation", n_shot: "1", save_dir: dir },
    });
    assert.equal(res.status, 202, await res.clone().text());
    const state = await finished(s);
    assert.equal(state.kind, "eval");
    assert.equal(state.error, undefined, state.error);
    assert.equal(state.exitCode, 0);
    // The metrics are those of results.log, which the child wrote.
    const saved = parseScores(await Deno.readTextFile(`${dir}/results.log`));
    assert.ok(Object.keys(saved).includes("Average"), JSON.stringify(saved));
    assert.deepEqual(state.result?.metrics, saved);
    assert.equal(state.result?.path, dir);
    const subjects = await loadTask("evaluation", "tinyqa_test");
    assertProgress(seen, subjects.reduce((n, x) => n + x.questions.length, 0));
    // The latest progress stays in the state, for a page that reattaches.
    assert.deepEqual(state.logs, [seen.progress.at(-1)]);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("board predict run streams output and progress, and shows predict_results.json", async () => {
  await using s = serve();
  const dir = tmpSaves("board_predict");
  const seenRuns = record(s);
  try {
    const events = s.get("/api/runs/events").then((r) =>
      readEvents(r, (e) =>
        e.event === "state" && (e.data as RunState).status === "idle" &&
        (e.data as RunState).id > 0)
    );
    const res = await s.post("/api/runs", {
      kind: "predict",
      values: {
        ...MODEL,
        eval_dataset: "identity",
        max_samples: "3",
        max_new_tokens: "4",
        output_dir: dir,
      },
    });
    assert.equal(res.status, 202, await res.clone().text());
    assert.match((await res.json()).yaml, /do_predict: true/);
    const state = await finished(s);
    assert.equal(state.error, undefined, state.error);
    const file = JSON.parse(await Deno.readTextFile(`${dir}/predict_results.json`));
    assert.ok("predict_bleu-4" in file);
    assert.deepEqual(state.result?.metrics, file);
    const seen = await events;
    assert.ok(seen.some((e) => e.event === "output"), "the child's output is streamed");
    assert.ok(seen.some((e) => e.event === "progress"), "progress reaches the page's stream");
    assertProgress(seenRuns, 3);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("board export run writes the model and gives the folder written, with progress", async () => {
  await using s = serve();
  const dir = tmpSaves("board_export");
  const seen = record(s);
  try {
    const res = await s.post("/api/runs", {
      kind: "export",
      values: {
        ...MODEL,
        export_dir: dir,
        export_size: "1",
      },
    });
    assert.equal(res.status, 202, await res.clone().text());
    const state = await finished(s);
    assert.equal(state.error, undefined, state.error);
    assert.equal(state.result?.path, dir);
    assert.ok((await Deno.stat(`${dir}/model.safetensors`)).isFile);
    assert.ok((await Deno.stat(`${dir}/config.json`)).isFile);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    const { hidden_size: h, intermediate_size: f, num_hidden_layers: n, vocab_size: v } = config;
    const kv = (h / config.num_attention_heads) * config.num_key_value_heads;
    // Every weight element of a llama: embeddings (tied head), norms, attention and MLP.
    const total = v * h + h + n * (2 * h + 2 * h * h + 2 * h * kv + 3 * h * f) +
      (config.tie_word_embeddings === false ? v * h : 0);
    assertProgress(seen, total);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("board runs one child at a time across kinds and reports a failing one", async () => {
  await using s = serve();
  const dir = tmpSaves("board_busy");
  try {
    // A task that does not exist: the child fails, its message reaches the state.
    const res = await s.post("/api/runs", {
      kind: "eval",
      values: { ...MODEL, task: "nosuchtask_test", task_dir: "evaluation", save_dir: dir },
    });
    assert.equal(res.status, 202);
    const busy = await s.post("/api/runs", {
      kind: "export",
      values: { ...MODEL, export_dir: `${dir}_x` },
    });
    assert.equal(busy.status, 409);
    assert.match((await busy.json()).error, /eval run \d+ is still/);
    const state = await finished(s);
    assert.equal(state.status, "idle");
    assert.notEqual(state.exitCode, 0);
    assert.match(state.error ?? "", /nosuchtask/);
    assert.equal(state.result, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("board refuses a run without its output key or of an unknown kind", async () => {
  await using s = serve();
  const noDir = await s.post("/api/runs", { kind: "export", values: { ...MODEL } });
  assert.equal(noDir.status, 400);
  assert.match((await noDir.json()).error, /"export_dir" is not set/);
  const bad = await s.post("/api/runs", { kind: "serve", values: MODEL });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /"serve": expected one of "train", "eval"/);
  const cmd = await (await s.post("/api/command", {
    kind: "eval",
    values: { ...MODEL, task: "tinyqa_test", save_dir: "saves/x" },
  })).json();
  assert.match(cmd.command, /^deno run -A cli\.ts eval .*task=tinyqa_test/);
  assert.equal(cmd.error, undefined);
});
