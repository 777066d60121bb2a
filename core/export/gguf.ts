// GGUF export of llama-family models for llama.cpp / Ollama, as convert_hf_to_gguf.py's
// LlamaModel writes them: llama.cpp tensor names, q/k rows permuted from HF's rotate-half RoPE
// layout to llama.cpp's interleaved pairs, norms in f32, matrices in f16 or q8_0.
// Reference: llama.cpp convert_hf_to_gguf.py (LlamaModel), gguf-py/gguf/constants.py

import { join } from "node:path";
import { readF32 } from "../method/_host.ts";
import type { Decoder } from "../model/decoder.ts";
import { type GgufTensor, type GgufValue, writeGgufFile } from "./_gguf_file.ts";
import { quantizeQ8_0 } from "./q8_0.ts";

export type GgufType = "f32" | "f16" | "q8_0";

export interface GgufExportOptions {
  /** Weight type of the matrices (1-D tensors stay f32, as llama.cpp keeps them). */
  type?: GgufType;
  /** A folder with tokenizer.json (byte-level BPE); without one no tokenizer keys are written. */
  tokenizerDir?: string;
  name?: string;
  /** Called with the weight elements converted so far: 0 first, total once the file is written. */
  onProgress?: (done: number, total: number) => void;
}

// llama.cpp's LLAMA_FTYPE: ALL_F32, MOSTLY_F16, MOSTLY_Q8_0.
const FILE_TYPE: Record<GgufType, number> = { f32: 0, f16: 1, q8_0: 7 };

const LAYER_NAMES: Record<string, string> = {
  input_layernorm: "attn_norm",
  "self_attn.q_proj": "attn_q",
  "self_attn.k_proj": "attn_k",
  "self_attn.v_proj": "attn_v",
  "self_attn.o_proj": "attn_output",
  post_attention_layernorm: "ffn_norm",
  "mlp.gate_proj": "ffn_gate",
  "mlp.up_proj": "ffn_up",
  "mlp.down_proj": "ffn_down",
};

/** llama.cpp's name of an HF llama tensor, or null when llama.cpp has none. */
export function ggufTensorName(hf: string): string | null {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  const short = m && LAYER_NAMES[m[2]];
  return short ? `blk.${m[1]}.${short}.${m[3]}` : null;
}

/**
 * Rows of a q or k projection [heads * headDim, in] reordered as llama.cpp's `permute`:
 * reshape(heads, 2, headDim / 2, in).swapaxes(1, 2), so the two halves of each head interleave.
 */
export function permuteRope(w: Float32Array, rows: number, heads: number): Float32Array {
  const cols = w.length / rows, hd = rows / heads, half = hd / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * hd + j * half + i) * cols, dst = (h * hd + i * 2 + j) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** Writes `model` (a llama-family decoder) as one GGUF file at `path`. */
export async function exportGguf(
  model: Decoder,
  path: string,
  opts: GgufExportOptions = {},
): Promise<void> {
  const cfg = model.cfg, type = opts.type ?? "f16";
  const unsupported = cfg.norm !== "rms"
    ? "LayerNorm"
    : !cfg.gatedMlp
    ? "a plain MLP"
    : cfg.qkvBias || cfg.outBias || cfg.mlpBias
    ? "biases"
    : cfg.fusedQkv || cfg.fusedGateUp
    ? "fused projections"
    : cfg.moe
    ? "experts"
    : !cfg.rope || cfg.rope.full.scaling || cfg.rope.full.partial !== 1
    ? "RoPE scaling or partial RoPE"
    : cfg.qkNorm || cfg.sandwichNorm || cfg.normOffset !== 0 || cfg.embedScale !== 1
    ? "extra norms or scales"
    : null;
  if (unsupported) {
    throw new TypeError(
      `Cannot export GGUF to "${path}": the model uses ${unsupported}; only llama-architecture models are supported`,
    );
  }
  const md = new Map<string, GgufValue>();
  const u32 = (k: string, value: number) => md.set(k, { type: "u32", value });
  const f32 = (k: string, value: number) => md.set(k, { type: "f32", value });
  md.set("general.architecture", { type: "string", value: "llama" });
  if (opts.name) md.set("general.name", { type: "string", value: opts.name });
  u32("general.file_type", FILE_TYPE[type]);
  u32("llama.vocab_size", cfg.vocabSize);
  u32("llama.context_length", cfg.maxPositions);
  u32("llama.embedding_length", cfg.hiddenSize);
  u32("llama.block_count", cfg.numLayers);
  u32("llama.feed_forward_length", cfg.intermediateSize);
  u32("llama.attention.head_count", cfg.numHeads);
  u32("llama.attention.head_count_kv", cfg.numKvHeads);
  u32("llama.rope.dimension_count", cfg.headDim);
  if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) {
    u32("llama.attention.key_length", cfg.headDim);
    u32("llama.attention.value_length", cfg.headDim);
  }
  f32("llama.rope.freq_base", cfg.rope!.full.theta);
  f32("llama.attention.layer_norm_rms_epsilon", cfg.normEps);
  if (opts.tokenizerDir) await addTokenizer(md, opts.tokenizerDir, cfg.vocabSize);

  const tensors: GgufTensor[] = [];
  const params = [...model.namedParameters()];
  const total = params.reduce((n, [, p]) => n + p.size, 0);
  let done = 0;
  opts.onProgress?.(0, total);
  for (const [name, p] of params) {
    const gname = ggufTensorName(name);
    if (!gname) {
      throw new TypeError(`Cannot export GGUF to "${path}": llama.cpp has no name for "${name}"`);
    }
    let [w] = await readF32([p]);
    if (/\.self_attn\.q_proj\.weight$/.test(name)) w = permuteRope(w, p.shape[0], cfg.numHeads);
    if (/\.self_attn\.k_proj\.weight$/.test(name)) w = permuteRope(w, p.shape[0], cfg.numKvHeads);
    tensors.push({ name: gname, shape: p.shape, ...encode(w, p.shape, type) });
    done += p.size;
    // The last tensor counts once the file holds it (the write comes after all conversions).
    if (done < total) opts.onProgress?.(done, total);
  }
  await writeGgufFile(path, { metadata: md, tensors });
  opts.onProgress?.(total, total);
}

function encode(w: Float32Array, shape: readonly number[], type: GgufType) {
  // As convert_hf_to_gguf: 1-D tensors stay f32; q8_0 needs rows of whole blocks, else f16.
  const t: GgufType = shape.length < 2
    ? "f32"
    : type === "q8_0" && shape.at(-1)! % 32
    ? "f16"
    : type;
  const bytes = t === "f32"
    ? new Uint8Array(w.buffer, w.byteOffset, w.byteLength)
    : t === "f16"
    ? new Uint8Array(Float16Array.from(w).buffer)
    : quantizeQ8_0(w);
  return { type: t, data: bytes };
}

// llama.cpp's token types: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5.
async function addTokenizer(md: Map<string, GgufValue>, dir: string, vocabSize: number) {
  const tj = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer.json")));
  if (tj.model?.type !== "BPE" || tj.pre_tokenizer?.type !== "ByteLevel" && !tj.decoder?.type) {
    throw new TypeError(
      `Cannot export the tokenizer of "${dir}" to GGUF: only byte-level BPE tokenizers are supported`,
    );
  }
  const tokens = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const types = new Array<number>(vocabSize).fill(5);
  for (const [tok, id] of Object.entries(tj.model.vocab as Record<string, number>)) {
    if (id < vocabSize) (tokens[id] = tok, types[id] = 1);
  }
  for (const a of tj.added_tokens ?? []) {
    if (a.id < vocabSize) (tokens[a.id] = a.content, types[a.id] = a.special ? 3 : 4);
  }
  const merges = (tj.model.merges as (string | string[])[]).map((m) =>
    typeof m === "string" ? m : m.join(" ")
  );
  md.set("tokenizer.ggml.model", { type: "string", value: "gpt2" });
  // NOTE: llama.cpp picks its pre-tokenizer regex by a hash of known tokenizers; ours is unknown.
  md.set("tokenizer.ggml.pre", { type: "string", value: "default" });
  md.set("tokenizer.ggml.tokens", { type: "strings", value: tokens });
  md.set("tokenizer.ggml.token_type", { type: "i32s", value: types });
  md.set("tokenizer.ggml.merges", { type: "strings", value: merges });
  const cfg = await readJson(join(dir, "config.json"));
  const tc = await readJson(join(dir, "tokenizer_config.json"));
  const idOf = (k: string) => {
    const fromConfig = cfg[`${k}_token_id`];
    if (typeof fromConfig === "number") return fromConfig;
    const t = tc[`${k}_token`];
    const text = typeof t === "string" ? t : (t as { content?: string } | undefined)?.content;
    return text === undefined ? undefined : tokens.indexOf(text);
  };
  for (const [k, key] of [["bos", "bos"], ["eos", "eos"], ["pad", "padding"]] as const) {
    const id = idOf(k);
    if (id !== undefined && id >= 0) {
      md.set(`tokenizer.ggml.${key}_token_id`, { type: "u32", value: id });
    }
  }
  if (typeof tc.add_bos_token === "boolean") {
    md.set("tokenizer.ggml.add_bos_token", { type: "bool", value: tc.add_bos_token });
  }
  // convert_hf_to_gguf copies it too (gguf SpecialVocab); llama.cpp and Ollama chat with it.
  if (typeof tc.chat_template === "string") {
    md.set("tokenizer.chat_template", { type: "string", value: tc.chat_template });
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw e;
  }
}
