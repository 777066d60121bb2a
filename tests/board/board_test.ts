// LlamaBoard's server driven over fetch on 127.0.0.1 (no browser): the page in both languages,
// forms generated from configSchema, dataset preview, command preview, path checks, and training
// runs of the tiny model as child processes streamed over server-sent events.
import assert from "node:assert/strict";
import { t } from "../../board/i18n.ts";
import { configSchema, parseConfig } from "../../core/config/mod.ts";
import { builtinRegistries } from "../../plugins/mod.ts";
import { serve, type SseEvent } from "./_serve.ts";
import { readEvents as readSse } from "./_serve.ts";

/** Reads the run events of `url` until `done` says so. */
async function readEvents(url: string, done: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  return readSse(await fetch(url), done);
}

const tmpOutput = () => `saves/_board_test_${crypto.randomUUID().slice(0, 8)}`;
const TRAIN = {
  model_name_or_path: "models/tiny-llama",
  stage: "sft",
  finetuning_type: "lora",
  template: "llama3",
  dataset: "identity",
  dataset_dir: "data",
  cutoff_len: "64",
  per_device_train_batch_size: "2",
  logging_steps: "1",
  max_steps: "2",
};

Deno.test("board page renders in English and Chinese", async () => {
  await using s = serve();
  for (const lang of ["en", "zh"] as const) {
    const res = await fetch(`${s.base}/?lang=${lang}`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, new RegExp(`<html lang="${lang}">`));
    assert.ok(body.includes(t(lang, "tab_train")), `${lang}: train tab label`);
    assert.ok(body.includes(t(lang, "preview_command")), `${lang}: preview button label`);
  }
  assert.notEqual(t("en", "start"), t("zh", "start"));
  const page = await (await fetch(`${s.base}/?lang=zh`)).text();
  for (const lang of ["en", "zh"]) {
    assert.match(page, new RegExp(`<a [^>]*href="/\\?lang=${lang}"[^>]*data-lang="${lang}"`));
  }
  // The client bundle named in the page is served, with the run events and uPlot inside.
  const src = /<script type="module" src="(\/static\/board\.[0-9a-f]+\.js)"/.exec(page)?.[1];
  assert.ok(src, "script tag of the bundle");
  const js = await fetch(s.base + src);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  const code = await js.text();
  assert.ok(code.includes("EventSource"));
  assert.ok(code.includes("uplot"), "uPlot is bundled");
});

Deno.test("board form fields come from configSchema with their defaults", async () => {
  await using s = serve();
  const body = await (await fetch(`${s.base}/`)).text();
  for (const key of ["learning_rate", "lora_rank", "num_train_epochs", "cutoff_len"]) {
    const f = configSchema.byKey.get(key)!;
    const re = new RegExp(
      `name="${key}"[^>]*data-default="${String(f.default)}"[^>]*value="${String(f.default)}"`,
    );
    assert.match(body, re, `input ${key} with default ${f.default}`);
  }
  // A bool is a checkbox, an enum a select listing its choices.
  assert.match(body, /type="checkbox" name="bf16"/);
  const top = ["stage", "finetuning_type"];
  const en = configSchema.fields.find((f) =>
    f.type === "enum" && f.group === "finetuning" && !top.includes(f.key)
  )!;
  assert.match(body, new RegExp(`<select name="${en.key}"`));
  for (const c of en.choices!) assert.ok(body.includes(`<option value="${c}"`), c);
  // Groups are collapsed.
  assert.match(body, /<details class="group" data-group="training">/);
  assert.doesNotMatch(body, /<details[^>]*open/);
});

Deno.test("the Train tab groups LoRA, freeze, RLHF and evaluation keys apart, each key once", async () => {
  await using s = serve();
  const body = await (await fetch(`${s.base}/?lang=en`)).text();
  const train = body.slice(body.indexOf('id="tab-train"'), body.indexOf('id="tab-eval"'));
  const sectionOfKey = new Map<string, string>();
  for (
    const m of train.matchAll(/<details class="group" data-group="(\w+)">([\s\S]*?)<\/details>/g)
  ) {
    for (const k of m[2].matchAll(/data-key="(\w+)"/g)) sectionOfKey.set(k[1], m[1]);
  }
  const want: Record<string, string> = {
    lora_dropout: "lora",
    use_dora: "lora",
    pissa_init: "lora",
    freeze_trainable_layers: "freeze",
    pref_beta: "rlhf",
    ppo_epochs: "rlhf",
    eval_steps: "train_eval",
    val_size: "train_eval",
    warmup_ratio: "training",
    packing: "data",
  };
  for (const [key, section] of Object.entries(want)) {
    assert.equal(sectionOfKey.get(key), section, key);
  }
  for (const f of configSchema.fields) {
    if (!["model", "data", "training", "finetuning"].includes(f.group)) continue;
    const n = train.split(`data-key="${f.key}"`).length - 1;
    assert.ok(n <= 1, `${f.key} shown ${n} times`);
  }
  for (const sec of ["lora", "freeze", "rlhf", "galore", "train_eval"] as const) {
    assert.match(train, new RegExp(`data-group="${sec}">\\s*<summary>${t("en", `group_${sec}`)}`));
  }
});

Deno.test("board lists datasets and previews the first records of identity", async () => {
  await using s = serve();
  const list = await (await fetch(`${s.base}/api/datasets?dir=data`)).json();
  assert.ok(list.datasets.includes("identity") && list.datasets.includes("dpo_demo"));
  // A stage sees the datasets it can train on: ranking ones for dpo, the others for sft.
  const dpo = await (await fetch(`${s.base}/api/datasets?dir=data&stage=dpo`)).json();
  assert.deepEqual(dpo.datasets, ["dpo_demo"]);
  const sft = await (await fetch(`${s.base}/api/datasets?dir=data&stage=sft`)).json();
  assert.deepEqual(sft.datasets, list.datasets.filter((d: string) => d !== "dpo_demo"));
  const res = await fetch(`${s.base}/api/datasets/preview?dir=data&name=identity&n=2`);
  assert.equal(res.status, 200);
  const got = await res.json();
  const all = JSON.parse(await Deno.readTextFile("data/identity.json"));
  assert.deepEqual(got.records, all.slice(0, 2));
  assert.equal(got.total, all.length);
  const bad = await fetch(`${s.base}/api/datasets/preview?dir=data&name=nope`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /"nope"/);
});

Deno.test("board picks the template from the model family", async () => {
  await using s = serve();
  const got = await (await fetch(`${s.base}/api/template?model=models/tiny-llama`)).json();
  const config = JSON.parse(await Deno.readTextFile("models/tiny-llama/config.json"));
  assert.equal(got.template, builtinRegistries().models.get(config.model_type).defaultTemplate);
});

Deno.test("board preview command returns YAML that validates", async () => {
  await using s = serve();
  const res = await s.post("/api/command", {
    values: { ...TRAIN, output_dir: "saves/x", learning_rate: "1e-3", lora_rank: "8" },
  });
  assert.equal(res.status, 200);
  const got = await res.json();
  assert.equal(got.error, undefined);
  const { args } = parseConfig(got.yaml, {
    plugins: { template: builtinRegistries().templates.names() },
  });
  assert.equal(args.learning_rate, 1e-3);
  assert.equal(args.max_steps, 2);
  assert.equal(args.output_dir, "saves/x");
  // lora_rank at its default is left out of the YAML.
  assert.doesNotMatch(got.yaml, /lora_rank/);
  assert.match(got.command, /^deno run -A cli\.ts train .*learning_rate=0\.001/);
});

Deno.test("board rejects paths outside the allowed roots", async () => {
  await using s = serve();
  const cases: [string, Promise<Response>][] = [
    ["/etc", s.post("/api/command", { values: { ...TRAIN, output_dir: "/etc" } })],
    ["../outside", s.post("/api/runs", { values: { ...TRAIN, output_dir: "../outside" } })],
    ["saves/../../x", fetch(`${s.base}/api/datasets?dir=${encodeURIComponent("saves/../../x")}`)],
    ["/tmp", s.post("/api/chat/load", { model_name_or_path: "/tmp" })],
  ];
  for (const [path, pending] of cases) {
    const res = await pending;
    assert.equal(res.status, 400, path);
    assert.ok((await res.json()).error.includes(`"${path}"`), path);
  }
  assert.equal(s.board.runs.state.status, "idle");
});

Deno.test("board trains the tiny model, streams progress and ends idle", async () => {
  await using s = serve();
  const out = tmpOutput();
  try {
    const res = await s.post("/api/runs", { values: { ...TRAIN, output_dir: out } });
    assert.equal(res.status, 202);
    // A second start while running is refused.
    assert.equal(
      (await s.post("/api/runs", { values: { ...TRAIN, output_dir: out } })).status,
      409,
    );
    const events = await readEvents(
      `${s.base}/api/runs/events`,
      (e) => e.event === "state" && (e.data as { status: string }).status === "idle",
    );
    assert.equal(events[0].event, "state");
    const progress = events.filter((e) => e.event === "progress");
    assert.ok(progress.length >= 1, "at least one progress event");
    assert.equal((progress[0].data as { total_steps: number }).total_steps, 2);
    const end = events.at(-1)!.data as { status: string; exitCode: number; error?: string };
    assert.equal(end.error, undefined);
    assert.equal(end.exitCode, 0);
    // A reload reattaches: the current state holds the whole log.
    const state = await (await fetch(`${s.base}/api/runs/current`)).json();
    assert.ok(state.logs.some((l: { loss?: number }) => typeof l.loss === "number"));
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});

Deno.test("board runs the preference stages: dpo, kto and rm each train and log their metrics", async () => {
  await using s = serve();
  const runs = [
    { stage: "dpo", dataset: "dpo_demo", metric: "reward" },
    { stage: "kto", dataset: "kto_demo", metric: "reward" },
    { stage: "rm", dataset: "dpo_demo", metric: "accuracy" },
  ];
  for (const { stage, dataset, metric } of runs) {
    const out = tmpOutput();
    try {
      const values = { ...TRAIN, stage, dataset, output_dir: out };
      assert.equal((await s.post("/api/runs", { values })).status, 202);
      await s.board.runs.wait();
      const state = s.board.runs.state;
      assert.equal(state.error, undefined, `${stage}: ${state.error}`);
      assert.equal(state.exitCode, 0);
      const log = (await Deno.readTextFile(`${out}/trainer_log.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      // kto reports rewards of desirable replies only in steps that have some (seeded order).
      assert.ok(log.some((l) => l[metric] !== undefined), `${stage} logs ${metric}`);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  }
});

Deno.test("board shows the error of a run with a bad key and returns to idle", async () => {
  await using s = serve();
  const out = tmpOutput();
  const yaml = `model_name_or_path: models/tiny-llama\ndataset: identity\noutput_dir: ${out}\n` +
    `learning_rat: 0.1\n`;
  try {
    assert.equal((await s.post("/api/runs", { yaml })).status, 202);
    await s.board.runs.wait();
    const state = s.board.runs.state;
    assert.equal(state.status, "idle");
    assert.ok(state.error?.includes("learning_rat"), state.error);
    assert.notEqual(state.exitCode, 0);
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});

Deno.test("board abort stops a running run", async () => {
  await using s = serve();
  const out = tmpOutput();
  try {
    const res = await s.post("/api/runs", {
      values: { ...TRAIN, output_dir: out, max_steps: "100000" },
    });
    assert.equal(res.status, 202);
    // Abort once training is under way (a first log line), not while the child starts.
    await new Promise<void>((resolve) => {
      const stop = s.board.runs.subscribe((e) => {
        if (e.type === "progress" || (e.type === "state" && e.state.status === "idle")) {
          stop();
          resolve();
        }
      });
    });
    assert.equal(s.board.runs.state.status, "running");
    const aborted = await (await s.post("/api/runs/abort", {})).json();
    assert.equal(aborted.aborted, true);
    await s.board.runs.wait();
    const state = s.board.runs.state;
    assert.equal(state.status, "idle");
    assert.equal(state.aborted, true);
    assert.equal(state.error, undefined);
    assert.notEqual(state.exitCode, 0);
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});

Deno.test("board chat loads the tiny model and streams a reply", async () => {
  await using s = serve();
  assert.equal(
    (await s.post("/api/chat", { messages: [{ role: "user", content: "hi" }] })).status,
    409,
  );
  const load = await s.post("/api/chat/load", {
    model_name_or_path: "models/tiny-llama",
    template: "llama3",
    max_new_tokens: "8",
    do_sample: "false",
  });
  assert.equal(load.status, 200, await load.clone().text());
  const res = await s.post("/api/chat", { messages: [{ role: "user", content: "Who are you?" }] });
  assert.equal(res.status, 200);
  const text = await res.text();
  const deltas = [...text.matchAll(/^event: delta\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]));
  assert.ok(deltas.length >= 1, text);
  assert.match(text, /event: done/);
});
