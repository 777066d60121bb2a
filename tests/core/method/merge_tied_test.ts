// Merging a LoRA adapter on the LM head of a model with tied embeddings (Llama 3.2, Qwen2, Gemma,
// the embedded tiny-llama): the head's weight is the embedding's, so merging must leave it alive.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ModelFamily } from "../../../core/model/family.ts";
import type { Decoder } from "../../../core/model/decoder.ts";
import { loadModel } from "../../../core/model/load.ts";
import { loraModules, mergeLora } from "../../../core/method/lora_model.ts";
import { Registry } from "../../../core/registry.ts";
import * as T from "../../../core/tensor/mod.ts";
import { lora } from "../../../plugins/methods/lora.ts";
import { modelFamilies } from "../../../plugins/models/mod.ts";
import { assertClose } from "../../_helpers/check_op.ts";

await T.initGpu();
const TIED = new URL("../../fixtures/models/llama_tied", import.meta.url).pathname;
const families = new Registry<ModelFamily>("model", modelFamilies);

async function logits(m: Decoder): Promise<Float32Array> {
  const rng = new T.Rng(5);
  const ids = Int32Array.from({ length: 14 }, () => 3 + rng.int(250));
  const out = T.noGrad(() => T.scope(() => m.forward(T.tensor(ids, [2, 7], { dtype: "i32" }))));
  const host = await out.data() as Float32Array;
  out.release();
  return host;
}

/** A tied model with LoRA on q_proj and the LM head, B moved off zero (as training would). */
async function adapted(): Promise<Decoder> {
  const { model, family } = await loadModel(TIED, families);
  assert.ok(model.cfg.tieEmbeddings, "the fixture ties its embeddings");
  await lora.apply(model, { lora_rank: 4, lora_target: ["q_proj", "lm_head"] }, { family });
  T.noGrad(() =>
    T.scope(() =>
      loraModules(model).forEach(([, l], i) =>
        T.addInPlace(l.loraB, T.randn(l.loraB.shape, 0.2, { seed: 17 + i }))
      )
    )
  );
  return model;
}

Deno.test("mergeLora() on a tied LM head keeps the embedding it shares and the same logits", async () => {
  const m = await adapted();
  const want = await logits(m);
  const embedding = m.embed.weight;
  assert.deepEqual(mergeLora(m).filter((p) => p === "lm_head"), ["lm_head"]);
  assert.equal(m.embed.weight, embedding);
  assert.equal(embedding.released, false, "merging released the tied embedding");
  assertClose(await logits(m), want, 1e-4, 1e-4, "merged logits");
  m.release();
});

Deno.test("an adapter with a LoRA LM head on a tied model loads for inference (merged)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "llamaforge_tied_" });
  try {
    const m = await adapted();
    const want = await logits(m);
    await lora.save(m, dir);
    m.release();
    const { model: i, family } = await loadModel(TIED, families);
    await lora.apply(i, { adapter_name_or_path: [join(dir)] }, { family, trainable: false });
    assert.equal(loraModules(i).length, 0);
    assertClose(await logits(i), want, 1e-4, 1e-4, "logits of the merged adapter");
    i.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
