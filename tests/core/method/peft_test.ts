// Saving and loading what methods train: PEFT adapters (key names, config, round trips, shape
// errors, resuming, create_new_adapter, merging, PiSSA conversion), full weights, and the PEFT
// cross-check fixtures (tests/fixtures/peft/, checked by tests/fixtures/check_peft.py).

import assert from "node:assert/strict";
import { join } from "node:path";
import { openSafetensors } from "../../../core/io/safetensors.ts";
import { writeSafetensors } from "../../../core/io/safetensors_write.ts";
import { decodeValues } from "../../../core/io/_dtype.ts";
import { openPeftAdapter, writePeftAdapter } from "../../../core/io/peft.ts";
import type { ModelFamily } from "../../../core/model/family.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import { loadModel } from "../../../core/model/load.ts";
import { saveAdapter } from "../../../core/method/adapter.ts";
import { loraModules } from "../../../core/method/lora_model.ts";
import { methodState } from "../../../core/method/state.ts";
import type { FinetuningMethod, MethodArgs } from "../../../core/method/method.ts";
import { Registry } from "../../../core/registry.ts";
import * as T from "../../../core/tensor/mod.ts";
import { lora } from "../../../plugins/methods/lora.ts";
import { methods } from "../../../plugins/methods/mod.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { assertClose } from "../../_helpers/check_op.ts";

await T.initGpu();
const FIXTURES = new URL("../../fixtures/models/", import.meta.url).pathname;
const PEFT_FIXTURES = new URL("../../fixtures/peft/", import.meta.url).pathname;
const families = new Registry<ModelFamily>("model", modelFamilies);
const registry = new Registry<FinetuningMethod>("method", methods);

async function fresh(name: string): Promise<{ model: Decoder; family: ModelFamily }> {
  return await loadModel(`${FIXTURES}${name}`, families);
}

function ids(seed: number): Int32Array {
  const rng = new T.Rng(seed);
  return Int32Array.from({ length: 16 }, () => 3 + rng.int(250));
}

async function logits(m: Decoder, tokens = ids(1)): Promise<Float32Array> {
  const out = T.noGrad(() => T.scope(() => m.forward(T.tensor(tokens, [2, 8], { dtype: "i32" }))));
  const host = await out.data() as Float32Array;
  out.release();
  return host;
}

/** Moves every trainable tensor by seeded noise, standing in for training. */
function perturb(m: Decoder, seed: number, std = 0.1): void {
  let k = 0;
  T.noGrad(() =>
    T.scope(() => {
      for (const t of m.trainableParameters()) {
        const noise = T.randn(t.shape, std, { seed: seed + k++ });
        T.addInPlace(t, t.dtype === "f32" ? noise : T.cast(noise, t.dtype));
      }
    })
  );
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "llamaforge_peft_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function adapterNames(dir: string): Promise<Map<string, { shape: number[]; dtype: string }>> {
  const f = await openSafetensors(join(dir, "adapter_model.safetensors"));
  const out = new Map(
    f.names().map((n) => [n, { shape: [...f.info(n).shape], dtype: f.info(n).dtype }]),
  );
  f.close();
  return out;
}

const DORA: MethodArgs = {
  model_name_or_path: "tests/fixtures/models/llama",
  lora_rank: 4,
  lora_alpha: 8,
  lora_target: ["all"],
  use_dora: true,
  additional_target: ["lm_head"],
};

Deno.test("a LoRA adapter saved and loaded onto a fresh model gives identical logits", async () => {
  await withTemp(async (dir) => {
    const { model: m, family } = await fresh("llama");
    const base = await logits(m);
    await lora.apply(m, DORA, { family });
    perturb(m, 7);
    const want = await logits(m);
    assert.ok(want.some((v, i) => Math.abs(v - base[i]) > 1e-3), "the adapter changed nothing");
    await lora.save(m, dir);
    m.release();
    const { model: n } = await fresh("llama");
    await lora.load(n, dir);
    assertClose(await logits(n), want, 1e-5, 1e-5, "reloaded logits");
    assert.equal(n.countParameters({ trainable: true }), 0, "a loaded adapter is frozen");
    n.release();
  });
});

Deno.test("adapter files use PEFT's key names, dtypes and config", async () => {
  await withTemp(async (dir) => {
    const { model: m, family } = await fresh("llama");
    await lora.apply(m, DORA, { family });
    await lora.save(m, dir);
    const names = await adapterNames(dir);
    const want = new Set(["base_model.model.lm_head.weight"]);
    for (const [p] of loraModules(m)) {
      for (const leaf of ["lora_A.weight", "lora_B.weight", "lora_magnitude_vector"]) {
        want.add(`base_model.model.${p}.${leaf}`);
      }
    }
    assert.deepEqual(new Set(names.keys()), want);
    assert.deepEqual(names.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), {
      shape: [4, 64],
      dtype: "F32",
    });
    assert.deepEqual(names.get("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), {
      shape: [64, 4],
      dtype: "F32",
    });
    assert.deepEqual(
      names.get("base_model.model.model.layers.1.self_attn.k_proj.lora_magnitude_vector")?.shape,
      [32],
    );
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "adapter_config.json")));
    assert.deepEqual(
      {
        peft_type: cfg.peft_type,
        task_type: cfg.task_type,
        r: cfg.r,
        lora_alpha: cfg.lora_alpha,
        lora_dropout: cfg.lora_dropout,
        target_modules: cfg.target_modules,
        modules_to_save: cfg.modules_to_save,
        use_dora: cfg.use_dora,
        use_rslora: cfg.use_rslora,
        bias: cfg.bias,
        fan_in_fan_out: cfg.fan_in_fan_out,
        init_lora_weights: cfg.init_lora_weights,
        base_model_name_or_path: cfg.base_model_name_or_path,
      },
      {
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        r: 4,
        lora_alpha: 8,
        lora_dropout: 0,
        target_modules: [
          "down_proj",
          "gate_proj",
          "k_proj",
          "o_proj",
          "q_proj",
          "up_proj",
          "v_proj",
        ],
        modules_to_save: ["lm_head"],
        use_dora: true,
        use_rslora: false,
        bias: "none",
        fan_in_fan_out: false,
        init_lora_weights: true,
        base_model_name_or_path: "tests/fixtures/models/llama",
      },
    );
    m.release();
    // GPT-2's Conv1D layers: same [r, in] / [out, r] factors, fan_in_fan_out set as PEFT does.
    const { model: g, family: gf } = await fresh("gpt2");
    await lora.apply(g, { lora_rank: 2, lora_target: ["c_attn"] }, { family: gf });
    await lora.save(g, dir);
    const gn = await adapterNames(dir);
    assert.deepEqual([...gn.keys()].sort(), [
      "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
      "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight",
      "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight",
    ]);
    assert.deepEqual(gn.get("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight")?.shape, [
      192,
      2,
    ]);
    assert.equal(
      JSON.parse(await Deno.readTextFile(join(dir, "adapter_config.json"))).fan_in_fan_out,
      true,
    );
    g.release();
  });
});

Deno.test("loading an adapter that does not fit the model names the tensor and changes nothing", async () => {
  await withTemp(async (dir) => {
    const { model: m } = await fresh("llama");
    await lora.apply(m, { lora_rank: 4, lora_target: ["q_proj", "v_proj"] });
    await lora.save(m, dir);
    m.release();
    const { config, weights } = await openPeftAdapter(dir);
    const tensors = [], original = [];
    for (const n of weights.names()) {
      const info = weights.info(n);
      const data = decodeValues(info.dtype, await weights.read(n)) as Float32Array;
      const bad = n === "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight";
      tensors.push({
        name: n,
        dtype: "F32" as const,
        shape: bad ? [4, 32] : [...info.shape],
        data: bad ? data.slice(0, 4 * 32) : data,
      });
      original.push({ name: n, dtype: "F32" as const, shape: [...info.shape], data });
    }
    weights.close();
    const tampered = join(dir, "tampered");
    await writePeftAdapter(tampered, { config, tensors });
    const { model: n } = await fresh("llama");
    const before = await logits(n);
    await assert.rejects(
      lora.load(n, tampered),
      /tensor "base_model\.model\.model\.layers\.1\.self_attn\.v_proj\.lora_A\.weight" has shape \[4,32\], but "model\.layers\.1\.self_attn\.v_proj" of the model needs \[4,64\]/,
    );
    assert.equal(loraModules(n).length, 0, "a failed load wrapped layers");
    assertClose(await logits(n), before, 0, 0, "a failed load changed the model");
    // An extra tensor the config does not explain, and a missing one.
    const norm = {
      name: "base_model.model.model.norm.weight",
      dtype: "F32" as const,
      shape: [64],
      data: new Float32Array(64),
    };
    await writePeftAdapter(join(dir, "extra"), { config, tensors: [...original, norm] });
    await assert.rejects(
      lora.load(n, join(dir, "extra")),
      /it has tensors the config does not explain \("base_model\.model\.model\.norm\.weight"\)/,
    );
    await writePeftAdapter(join(dir, "missing"), {
      config,
      tensors: original.filter((t) => !t.name.includes("layers.0.self_attn.v_proj.lora_A")),
    });
    await assert.rejects(
      lora.load(n, join(dir, "missing")),
      /tensor "base_model\.model\.model\.layers\.0\.self_attn\.v_proj\.lora_A\.weight" is missing/,
    );
    assert.equal(loraModules(n).length, 0);
    n.release();
    // A GPT-2 adapter on a Llama model.
    const { model: g } = await fresh("gpt2");
    await lora.apply(g, { lora_rank: 2, lora_target: ["c_attn"] });
    await lora.save(g, dir);
    g.release();
    const { model: l } = await fresh("llama");
    await assert.rejects(lora.load(l, dir), /Cannot find LoRA target "c_attn" in the model/);
    l.release();
  });
});

Deno.test("adapter_name_or_path resumes the last adapter; create_new_adapter merges it and starts anew", async () => {
  await withTemp(async (dir) => {
    const { model: m } = await fresh("llama");
    await lora.apply(m, { lora_rank: 4, lora_target: ["q_proj", "v_proj"], lora_dropout: 0.1 });
    perturb(m, 3);
    T.noGrad(() => loraModules(m).forEach(([, l]) => (l.dropoutSeed = null)));
    const want = await logits(m);
    await lora.save(m, join(dir, "a"));
    m.release();

    // Resume: the saved config wins over the arguments; the adapter trains.
    const { model: r } = await fresh("llama");
    const trainable = await lora.apply(r, {
      adapter_name_or_path: [join(dir, "a")],
      lora_rank: 16,
      lora_target: ["all"],
    });
    const layers = loraModules(r);
    assert.equal(layers.length, 4);
    assert.ok(layers.every(([, l]) => l.r === 4 && l.loraA.requiresGrad && l.loraB.requiresGrad));
    assert.equal(trainable.length, 8);
    for (const [, l] of layers) l.dropoutSeed = null;
    assertClose(await logits(r), want, 1e-5, 1e-5, "resumed logits");
    r.release();

    // create_new_adapter: the old one merged into the weights, a fresh one (B = 0) on o_proj.
    const { model: c } = await fresh("llama");
    await lora.apply(c, {
      adapter_name_or_path: [join(dir, "a")],
      create_new_adapter: true,
      lora_rank: 2,
      lora_target: ["o_proj"],
    });
    assert.deepEqual(loraModules(c).map(([p]) => p), [
      "model.layers.0.self_attn.o_proj",
      "model.layers.1.self_attn.o_proj",
    ]);
    assert.ok(c.trainableParameters().every((t) => t.name!.includes(".o_proj.lora_")));
    for (const [, l] of loraModules(c)) l.dropoutSeed = null;
    assertClose(await logits(c), want, 1e-4, 1e-4, "merged + new adapter logits");
    perturb(c, 11);
    for (const [, l] of loraModules(c)) l.dropoutSeed = null;
    const both = await logits(c);
    await lora.save(c, join(dir, "b"));
    c.release();

    // Inference: every adapter merged in order, no LoRA layers left.
    const { model: i } = await fresh("llama");
    await lora.apply(i, { adapter_name_or_path: [join(dir, "a"), join(dir, "b")] }, {
      trainable: false,
    });
    assert.equal(loraModules(i).length, 0);
    assert.equal(i.countParameters({ trainable: true }), 0);
    assertClose(await logits(i), both, 1e-4, 1e-4, "merged logits");
    i.release();
  });
});

Deno.test("pissa_convert saves a rank-2r LoRA adapter that reproduces the trained model on the original weights", async () => {
  await withTemp(async (dir) => {
    const { model: m } = await fresh("llama");
    const base = await logits(m);
    await lora.apply(m, {
      lora_rank: 2,
      lora_alpha: 4,
      lora_target: ["q_proj", "v_proj"],
      pissa_init: true,
      pissa_iter: -1,
      pissa_convert: true,
    });
    assertClose(await logits(m), base, 1e-4, 1e-4, "PiSSA changed the initial output");
    perturb(m, 5, 0.05);
    const trained = await logits(m);
    await lora.save(m, join(dir, "plain"));
    const state = methodState(m, "lora").lora!;
    await saveAdapter(m, join(dir, "pissa"), { config: state.config });
    m.release();
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "plain", "adapter_config.json")));
    assert.deepEqual([cfg.r, cfg.lora_alpha, cfg.init_lora_weights], [4, 8, true]);
    const names = await adapterNames(join(dir, "plain"));
    assert.deepEqual(
      names.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")?.shape,
      [4, 64],
    );
    // The converted adapter on the untouched base model gives the trained outputs.
    const { model: o } = await fresh("llama");
    await lora.load(o, join(dir, "plain"));
    assertClose(await logits(o), trained, 1e-4, 1e-4, "converted adapter on the original model");
    o.release();
    // Unconverted, PEFT (and we) redo the PiSSA split of the base weights on load.
    const pcfg = JSON.parse(await Deno.readTextFile(join(dir, "pissa", "adapter_config.json")));
    assert.equal(pcfg.init_lora_weights, "pissa");
    const { model: p } = await fresh("llama");
    await lora.load(p, join(dir, "pissa"));
    assertClose(await logits(p), trained, 1e-4, 1e-4, "PiSSA adapter re-split on load");
    p.release();
  });
});

Deno.test("every registered method saves and loads what it trained", async () => {
  const cases: Record<string, MethodArgs> = {
    full: {},
    freeze: { freeze_trainable_layers: 1, freeze_extra_modules: ["ln_f"] },
    lora: { lora_rank: 2, lora_target: ["all"], use_dora: true, additional_target: ["wpe"] },
  };
  for (const method of registry.list()) {
    await withTemp(async (dir) => {
      const args = cases[method.name];
      assert.ok(args, `no case for method "${method.name}"`);
      const { model: m, family } = await fresh("gpt2");
      await method.apply(m, { ...args, model_name_or_path: `${FIXTURES}gpt2` }, { family });
      perturb(m, 17, 0.02);
      const want = await logits(m);
      await method.save(m, dir);
      m.release();
      const { model: n, family: nf } = await fresh("gpt2");
      await method.apply(n, args, { family: nf });
      await method.load(n, dir);
      assertClose(await logits(n), want, 1e-5, 1e-5, `${method.name} round trip`);
      n.release();
      if (method.name !== "lora") {
        // The saved folder is a checkpoint transformers (and loadModel) reads: Conv1D [in, out].
        const f = await openSafetensors(join(dir, "model.safetensors"));
        assert.deepEqual(f.info("transformer.h.0.attn.c_attn.weight").shape, [64, 192]);
        f.close();
        const { model: k } = await loadModel(dir, families);
        assertClose(await logits(k), want, 1e-5, 1e-5, `${method.name} folder via loadModel`);
        k.release();
      }
    });
  }
});

// Cases for tests/fixtures/check_peft.py: PEFT must load each adapter onto the transformers base
// model and reproduce our logits. Seeded, so rewriting them changes no bytes.
const CROSS_CHECK: Record<string, { base: string; args: MethodArgs }> = {
  llama_lora_qv: {
    base: "llama",
    args: { lora_rank: 4, lora_alpha: 8, lora_target: ["q_proj", "v_proj"] },
  },
  llama_dora_rslora: {
    base: "llama",
    args: {
      lora_rank: 4,
      lora_alpha: 16,
      lora_target: ["all"],
      use_dora: true,
      use_rslora: true,
      additional_target: ["lm_head"],
    },
  },
  qwen2_all: { base: "qwen2", args: { lora_rank: 4, lora_target: ["all"] } },
  phi3_all: { base: "phi3", args: { lora_rank: 4, lora_target: ["all"] } },
  gpt2_all: { base: "gpt2", args: { lora_rank: 4, lora_target: ["all"] } },
  gpt2_dora: {
    base: "gpt2",
    args: { lora_rank: 2, lora_target: ["c_attn", "c_fc"], use_dora: true },
  },
  mixtral_attn: {
    base: "mixtral",
    args: { lora_rank: 4, lora_target: ["q_proj", "k_proj", "v_proj", "o_proj"] },
  },
};

// The committed fixtures are what tests/fixtures/check_peft.py feeds PEFT on the GPU machine; this
// test checks they are still what our code makes. LLAMAFORGE_WRITE_FIXTURES=1 rewrites them (then
// rerun check_peft.py).
const WRITE_FIXTURES = Deno.env.get("LLAMAFORGE_WRITE_FIXTURES") === "1";

Deno.test("the PEFT cross-check fixtures are what our LoRA makes and reloads", async () => {
  for (const [name, c] of Object.entries(CROSS_CHECK)) {
    const dir = join(PEFT_FIXTURES, name);
    const { model: m, family } = await fresh(c.base);
    await lora.apply(m, {
      ...c.args,
      seed: 1,
      model_name_or_path: `tests/fixtures/models/${c.base}`,
    }, {
      family,
    });
    perturb(m, 100, 0.05);
    for (const [, l] of loraModules(m)) l.dropoutSeed = null;
    const tokens = ids(2);
    const out = await logits(m, tokens);
    const vocab = out.length / 16;
    if (WRITE_FIXTURES) {
      await lora.save(m, join(dir, "adapter"));
      await writeSafetensors(join(dir, "expected.safetensors"), [
        { name: "input_ids", dtype: "I32", shape: [2, 8], data: tokens },
        { name: "logits", dtype: "F32", shape: [2, 8, vocab], data: out },
      ], { metadata: { format: "pt" } });
      await Deno.writeTextFile(
        join(dir, "case.json"),
        JSON.stringify({ base: `tests/fixtures/models/${c.base}`, args: c.args }, null, 2) + "\n",
      );
    }
    m.release();
    const f = await openSafetensors(join(dir, "expected.safetensors"));
    const want = decodeValues("F32", await f.read("logits")) as Float32Array;
    const wantIds = decodeValues("I32", await f.read("input_ids")) as Int32Array;
    f.close();
    assert.deepEqual([...wantIds], [...tokens], `${name}: the fixture's inputs`);
    assertClose(out, want, 1e-4, 1e-4, `${name}: our LoRA makes the fixture's logits`);
    // The committed adapter, reloaded, reproduces them too.
    const { model: n } = await fresh(c.base);
    await lora.load(n, join(dir, "adapter"));
    assertClose(await logits(n, tokens), want, 1e-4, 1e-4, `${name} reload`);
    n.release();
  }
});
