// Loads a Hugging Face checkpoint folder into the shared decoder through its family plugin.
// With `quantization`, every Linear of the decoder layers is quantized on the host as it is read
// and stored packed on the GPU (bitsandbytes through LlamaFactory's quantization_bit: embeddings
// and the LM head stay dense, as bitsandbytes leaves lm_head).

import { openCheckpoint } from "../io/checkpoint.ts";
import { decodeValues } from "../io/_dtype.ts";
import { type ModelConfig, readModelConfig } from "../io/hf_config.ts";
import { loadTensor } from "../io/to_gpu.ts";
import type { Registry } from "../registry.ts";
import * as T from "../tensor/mod.ts";
import { type QuantizeOptions, QuantLinear } from "../tensor/quant_linear.ts";
import { attach } from "./_paths.ts";
import { Decoder } from "./decoder.ts";
import { initLikeHf } from "./init.ts";
import type { ModelFamily } from "./family.ts";

export interface LoadModelOptions {
  /** Compute dtype of the weights (f32 default; f16 needs shader-f16). bf16 checkpoints widen. */
  dtype?: "f32" | "f16";
  /** Random weights from config.json alone (LlamaFactory's train_from_scratch). */
  fromScratch?: boolean;
  seed?: number;
  /** Quantize the decoder layers' Linear weights (LlamaFactory's quantization_bit). */
  quantization?: QuantizeOptions;
}

export interface LoadedModel {
  model: Decoder;
  family: ModelFamily;
  config: ModelConfig;
}

/** LlamaFactory's quantization keys as load options (none without quantization_bit). */
export function quantizationOf(a: {
  quantization_bit?: number;
  quantization_type?: string;
  double_quantization?: boolean;
}): QuantizeOptions | undefined {
  if (a.quantization_bit === undefined) return undefined;
  const type = a.quantization_type === "fp4" ? "fp4" : "nf4";
  return { bits: a.quantization_bit === 8 ? 8 : 4, type, double: a.double_quantization ?? true };
}

// Checkpoint entries that are buffers in transformers, not weights.
const IGNORED = [/\.rotary_emb\.inv_freq$/, /\.attn\.(masked_)?bias$/];

/** Reads config.json, builds the family's decoder and loads its weights one tensor at a time. */
export async function loadModel(
  dir: string,
  families: Registry<ModelFamily>,
  opts: LoadModelOptions = {},
): Promise<LoadedModel> {
  const config = await readModelConfig(dir);
  const family = families.get(config.model_type);
  const cfg = family.parseConfig(config);
  if (opts.fromScratch) {
    const model = new Decoder(cfg, { seed: opts.seed });
    const std = typeof config.initializer_range === "number" ? config.initializer_range : 0.02;
    initLikeHf(model, std, opts.seed ?? 0);
    return { model, family, config };
  }
  // Quantized layers' Linears come without dense weights, so the load peak stays near the
  // quantized size (the weights are read one at a time on the host below).
  const model = new Decoder(cfg, { empty: true, noLayerWeights: !!opts.quantization });
  const ckpt = await openCheckpoint(dir);
  const dtype = opts.dtype ?? "f32";
  const state = new Map<string, T.Tensor>();
  const quantized = opts.quantization ? layerLinears(model, cfg.names.layers) : new Map();
  try {
    const params = [...model.namedParameters()];
    for (const [name, param] of params) {
      const stored = name === `${cfg.names.lmHead}.weight` && cfg.tieEmbeddings ? null : name;
      if (!stored) continue;
      if (!ckpt.has(name)) {
        throw new TypeError(
          `Cannot load "${dir}": tensor "${name}" is missing from the checkpoint (its config.json describes a ${family.name} model with ${cfg.numLayers} layers)`,
        );
      }
      const info = ckpt.info(name);
      const transpose = family.transposeOnLoad?.(name) ?? false;
      const shape = transpose ? [...info.shape].reverse() : info.shape;
      if (shape.length !== param.rank || shape.some((d, i) => d !== param.shape[i])) {
        throw new TypeError(
          `Cannot load "${dir}": tensor "${name}" has shape [${info.shape}] in ${info.file}, but config.json implies [${param.shape}]`,
        );
      }
      // A quantized Linear that still has a placeholder weight (not built by the layer, e.g. an
      // MoE expert) is read once, on the host, below.
      if (!quantized.has(name.replace(/\.weight$/, ""))) {
        state.set(name, await loadWeight(ckpt, name, dtype, transpose));
      }
    }
    const known = new Set([
      ...params.map(([n]) => n),
      ...[...quantized.keys()].map((p) => `${p}.weight`),
    ]);
    const extra = ckpt.names().filter((n) => !known.has(n) && !IGNORED.some((r) => r.test(n)));
    if (extra.length) {
      throw new TypeError(
        `Cannot load "${dir}": the checkpoint has tensors the ${family.name} decoder does not use (${
          extra.slice(0, 5).map((n) => `"${n}"`).join(", ")
        }${extra.length > 5 ? ", ..." : ""}); is "model_type" right in config.json?`,
      );
    }
    model.loadState(state, { strict: false });
    state.clear();
    for (const [path, lin] of quantized) {
      const name = `${path}.weight`;
      if (!ckpt.has(name)) {
        throw new TypeError(
          `Cannot load "${dir}": tensor "${name}" is missing from the checkpoint (its config.json describes a ${family.name} model with ${cfg.numLayers} layers)`,
        );
      }
      const info = ckpt.info(name);
      const want = [lin.outFeatures, lin.inFeatures];
      const shape = family.transposeOnLoad?.(name) ? [...info.shape].reverse() : info.shape;
      if (shape.length !== 2 || shape[0] !== want[0] || shape[1] !== want[1]) {
        throw new TypeError(
          `Cannot load "${dir}": tensor "${name}" has shape [${info.shape}] in ${info.file}, but config.json implies [${want}]`,
        );
      }
      let w = decodeValues(info.dtype, await ckpt.read(name)) as ArrayLike<number>;
      if (family.transposeOnLoad?.(name)) w = transposed(w, info.shape[0], info.shape[1]);
      const b = lin.bias;
      const q = new QuantLinear(w, [lin.outFeatures, lin.inFeatures], {
        ...opts.quantization!,
        bias: b && b.view(b.shape),
      });
      attach(model, path, q);
      lin.release();
    }
    if (quantized.size) {
      // The dense placeholders go back to the driver, not the pool (after the pending work that
      // may use freed buffers is submitted: a destroyed buffer cannot be submitted).
      T.gpu().flush();
      T.gpu().pool.trim();
    }
  } catch (e) {
    for (const t of state.values()) t.release();
    model.release();
    throw e;
  } finally {
    ckpt.close();
  }
  return { model, family, config };
}

async function loadWeight(
  ckpt: Awaited<ReturnType<typeof openCheckpoint>>,
  name: string,
  dtype: "f32" | "f16",
  transpose: boolean,
): Promise<T.Tensor> {
  let t = await loadTensor(ckpt, name);
  const replace = (next: T.Tensor) => {
    t.release();
    t = next;
  };
  if (t.dtype !== dtype) replace(T.noGrad(() => T.cast(t, dtype)));
  if (transpose) replace(T.noGrad(() => T.transpose(t, 0, 1)));
  return t;
}

/** The Linear layers inside the decoder layers, by path (what bitsandbytes quantizes). */
function layerLinears(model: Decoder, layers: string): Map<string, T.Linear> {
  const out = new Map<string, T.Linear>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof T.Linear && path.startsWith(`${layers}.`)) out.set(path, m);
  }
  return out;
}

/** A [rows, cols] host matrix as [cols, rows] (transformers' Conv1D stores weights [in, out]). */
function transposed(w: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = w[i * cols + j];
  return out;
}
