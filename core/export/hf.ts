// Merge-and-export to a Hugging Face folder (LlamaFactory's `export_model`): weights in the
// checkpoint's names and layout (GPT-2's Conv1D transposed back), sharded at `maxShardBytes`,
// config.json with the dtype written, generation_config.json and tokenizer files copied.

import { join } from "node:path";
import { pythonJsonDumps } from "../io/_py_json.ts";
import { safetensorsDType } from "../io/_dtype.ts";
import { atomicDir } from "../io/atomic.ts";
import { writeShardedCheckpoint } from "../io/checkpoint_write.ts";
import { readF32 } from "../method/_host.ts";
import type { Decoder } from "../model/decoder.ts";
import type { ModelFamily } from "../model/family.ts";
import { LoraLinear } from "../tensor/lora.ts";
import { type DType, fromHost } from "../tensor/tensor.ts";

/** Files copied from the base folder when present (what `tokenizer.save_pretrained` writes). */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "vocab.json",
  "merges.txt",
  "added_tokens.json",
  "chat_template.jinja",
];

export interface HfExportOptions {
  family?: ModelFamily;
  /** The base model folder: config.json, generation_config.json and tokenizer files come from it. */
  baseDir: string;
  /** Stored dtype; default the base config's torch_dtype (LlamaFactory's infer_dtype "auto"). */
  dtype?: "f32" | "f16" | "bf16";
  maxShardBytes?: number;
  /** Extra files to write (the Ollama Modelfile). */
  extraFiles?: Readonly<Record<string, string>>;
  /** Called with the weight elements written so far: 0 first, the model's total last. */
  onProgress?: (done: number, total: number) => void;
}

const TORCH: Record<string, "f32" | "f16" | "bf16"> = {
  float32: "f32",
  float16: "f16",
  bfloat16: "bf16",
};
const TORCH_NAME = { f32: "float32", f16: "float16", bf16: "bfloat16" };

/** Writes `model` (LoRA layers merged) into `dir`, replacing it atomically. */
export async function exportHf(model: Decoder, dir: string, opts: HfExportOptions): Promise<void> {
  if ([...model.namedModules()].some(([, m]) => m instanceof LoraLinear)) {
    throw new TypeError(`Cannot export to "${dir}": the model has unmerged LoRA layers`);
  }
  const config = JSON.parse(await Deno.readTextFile(join(opts.baseDir, "config.json")));
  const declared = config.torch_dtype ?? config.dtype;
  const dtype: DType = opts.dtype ?? TORCH[declared] ?? "f32";
  if ("dtype" in config) config.dtype = TORCH_NAME[dtype as "f32"];
  if ("torch_dtype" in config || !("dtype" in config)) {
    config.torch_dtype = TORCH_NAME[dtype as "f32"];
  }
  const names = model.cfg.names;
  const tied = [...model.namedParameters()].every(([n]) => n !== `${names.lmHead}.weight`);
  // additional_target on the head unties it (PEFT copies it); the config must say so.
  if (!tied && config.tie_word_embeddings !== false && model.cfg.tieEmbeddings) {
    config.tie_word_embeddings = false;
  }
  const transposed = (n: string) => opts.family?.transposeOnLoad?.(n) ?? false;
  const params = [...model.namedParameters()];
  const total = params.reduce((n, [, t]) => n + t.size, 0);
  let done = 0;
  const entries = params.map(([name, t]) => ({
    name,
    dtype: safetensorsDType(dtype),
    shape: transposed(name) ? [...t.shape].reverse() : [...t.shape],
    // One tensor at a time, so a large model never sits whole in host memory.
    data: async () => {
      const [host] = await readF32([t]);
      const out = fromHost(
        transposed(name) ? transposeHost(host, t.shape[0], t.shape[1]) : host,
        dtype,
      );
      // The writer asks for one tensor after writing the one before: near enough to "written".
      done += t.size;
      opts.onProgress?.(done, total);
      return out;
    },
  }));
  opts.onProgress?.(0, total);
  await atomicDir(dir, async (tmp) => {
    await writeShardedCheckpoint(tmp, entries, { maxShardBytes: opts.maxShardBytes });
    await Deno.writeTextFile(join(tmp, "config.json"), pythonJsonDumps(config) + "\n");
    for (const f of ["generation_config.json", ...TOKENIZER_FILES]) {
      try {
        await Deno.copyFile(join(opts.baseDir, f), join(tmp, f));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    for (const [f, text] of Object.entries(opts.extraFiles ?? {})) {
      await Deno.writeTextFile(join(tmp, f), text);
    }
  });
}

function transposeHost(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
