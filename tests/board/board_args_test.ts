// Saved arguments and the adapter picker: a form saved as YAML loads back with the same values
// (and runs with cli.ts as is), and the checkpoints under saves/<model>/<method>/ are listed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { listAdapters } from "../../board/adapters.ts";
import { parseConfig } from "../../core/config/mod.ts";
import { builtinRegistries } from "../../plugins/mod.ts";
import { MODEL, serve } from "./_serve.ts";

Deno.test("board saves the arguments as YAML and loads the same values back", async () => {
  await using s = serve();
  const path = `llamaboard_config/_test_${crypto.randomUUID().slice(0, 8)}.yaml`;
  const form = {
    ...MODEL,
    stage: "sft",
    dataset: "identity,alpaca_demo",
    dataset_dir: "data",
    output_dir: "saves/tiny-llama/lora/x",
    learning_rate: "0.0003",
    max_steps: "7",
    bf16: "true",
  };
  try {
    const saved = await s.post("/api/args/save", { path, kind: "train", values: form });
    assert.equal(saved.status, 200, await saved.clone().text());
    assert.equal((await saved.json()).path, path);
    // The file is the run's config, which the CLI's parser accepts.
    const text = await Deno.readTextFile(path);
    const { args } = parseConfig(text, {
      plugins: { template: builtinRegistries().templates.names() },
    });
    assert.equal(args.learning_rate, 3e-4);
    assert.deepEqual(args.dataset, ["identity", "alpaca_demo"]);
    const loaded = await (await s.get(`/api/args/load?path=${encodeURIComponent(path)}`)).json();
    assert.deepEqual(loaded.values, parse(text));
    assert.equal(loaded.values.max_steps, 7);
    assert.equal(loaded.values.bf16, true);
    assert.equal(loaded.values.do_train, true);
  } finally {
    await Deno.remove(path).catch(() => {});
    // The folder too, when this test made it (recursive: false fails on one holding files).
    await Deno.remove("llamaboard_config").catch(() => {});
  }
});

Deno.test("board loads the bundled examples and refuses files outside the args folders", async () => {
  await using s = serve();
  const ok = await s.get("/api/args/load?path=examples/train_lora/tiny_lora_sft.yaml");
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).values.model_name_or_path, "models/tiny-llama");
  for (const path of ["../deno.json", "/etc/passwd", "data/identity.json", "examples/../cli.ts"]) {
    const res = await s.get(`/api/args/load?path=${encodeURIComponent(path)}`);
    assert.equal(res.status, 400, path);
  }
  const save = await s.post("/api/args/save", { path: "examples/x.yaml", values: MODEL });
  assert.equal(save.status, 400);
  const notYaml = await s.post("/api/args/save", { path: "llamaboard_config/x.sh", values: MODEL });
  assert.equal(notYaml.status, 400);
  assert.match((await notYaml.json()).error, /\.yaml/);
});

Deno.test("listAdapters() lists runs and checkpoints holding an adapter (lora) or a model (full), by step", async () => {
  const root = await Deno.makeTempDir({ prefix: "board_adapters_" });
  try {
    const base = join(root, "saves", "tiny-llama", "lora");
    const adapter = async (rel: string) => {
      await Deno.mkdir(join(base, rel), { recursive: true });
      await Deno.writeTextFile(join(base, rel, "adapter_config.json"), "{}");
    };
    await adapter("run_b");
    await adapter("run_b/checkpoint-100");
    await adapter("run_b/checkpoint-20");
    await adapter("run_a/checkpoint-5");
    await Deno.mkdir(join(base, "run_c/checkpoint-1"), { recursive: true }); // no adapter
    await Deno.mkdir(join(root, "saves", "tiny-llama", "full", "run_x"), { recursive: true });
    const got = await listAdapters(root, { model: "models/tiny-llama", method: "lora" });
    const p = "saves/tiny-llama/lora";
    assert.deepEqual(got, [
      `${p}/run_a/checkpoint-5`,
      `${p}/run_b`,
      `${p}/run_b/checkpoint-20`,
      `${p}/run_b/checkpoint-100`,
    ]);
    // Full and freeze checkpoints are whole models (config.json), listed for those methods only.
    assert.deepEqual(await listAdapters(root, { model: "models/tiny-llama", method: "full" }), []);
    const full = join(root, "saves", "tiny-llama", "full", "run_x");
    await Deno.mkdir(join(full, "checkpoint-4"), { recursive: true });
    await Deno.writeTextFile(join(full, "config.json"), "{}");
    await Deno.writeTextFile(join(full, "checkpoint-4", "config.json"), "{}");
    await Deno.writeTextFile(join(full, "checkpoint-4", "adapter_config.json"), "{}");
    assert.deepEqual(await listAdapters(root, { model: "models/tiny-llama", method: "full" }), [
      "saves/tiny-llama/full/run_x",
      "saves/tiny-llama/full/run_x/checkpoint-4",
    ]);
    assert.ok(
      !(await listAdapters(root, { model: "models/tiny-llama", method: "lora" }))
        .some((x) => x.includes("/full/")),
    );
    assert.deepEqual(await listAdapters(root, { model: "models/none", method: "lora" }), []);
    await assert.rejects(listAdapters(root, { model: "..", method: "../.." }), /expected a path/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("board lists the adapters under saves/ and the tinyqa task", async () => {
  await using s = serve();
  const run = `saves/tiny-llama/lora/_board_test_${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(`${run}/checkpoint-3`, { recursive: true });
    await Deno.writeTextFile(`${run}/adapter_config.json`, "{}");
    await Deno.writeTextFile(`${run}/checkpoint-3/adapter_config.json`, "{}");
    const { adapters } = await (await s.get("/api/adapters?model=models/tiny-llama&method=lora"))
      .json();
    assert.ok(adapters.includes(run), JSON.stringify(adapters));
    assert.ok(adapters.includes(`${run}/checkpoint-3`), JSON.stringify(adapters));
    // Every listed path is a folder with an adapter_config.json, relative to the root.
    for (const a of adapters) assert.ok((await Deno.stat(`${a}/adapter_config.json`)).isFile, a);
  } finally {
    await Deno.remove(run, { recursive: true });
  }
  const { tasks } = await (await s.get("/api/tasks?dir=evaluation")).json();
  assert.ok(tasks.includes("tinyqa_test"));
  assert.ok(tasks.includes("tinyqa_validation"));
  assert.equal((await s.get("/api/tasks?dir=/etc")).status, 400);
});
