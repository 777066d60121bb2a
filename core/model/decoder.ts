// The shared decoder-only transformer. A family's DecoderConfig sets every flag; module names
// follow the checkpoint's, so HF weights load by name and PEFT adapter keys match.

import * as T from "../tensor/mod.ts";
import { Embedding, Linear, Module, ModuleList } from "../tensor/nn.ts";
import { attach, lookup } from "./_paths.ts";
import type { DecoderConfig, LayerKind } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";
import { DecoderLayer, type LayerContext, makeNorm } from "./layer.ts";

type Tensor = T.Tensor;

export interface DecoderOptions {
  /** Leave weights uninitialised (they are about to be loaded). */
  empty?: boolean;
  seed?: number;
  /** The decoder layers' Linears get no weight (QLoRA loading swaps in quantized ones). */
  noLayerWeights?: boolean;
}

export interface ForwardOptions {
  /** i32 [B, T] positions (default 0..T-1 for every row). */
  positions?: Tensor;
  /** [B, T] 1 = token, 0 = padding. */
  keyMask?: Tensor;
  /** i32 [B, T] segment ids of packed sequences: tokens attend only within their segment. */
  segmentIds?: Tensor;
  /** Recompute each layer in backward instead of keeping its activations. */
  gradientCheckpointing?: boolean;
  /**
   * KV cache: the keys and values of these T tokens go in at `cache.length`, which then advances
   * by T. At a nonzero length the queries attend to the whole cache under its own mask (`keyMask`
   * is not used), so `positions` must continue each row's positions.
   */
  cache?: KvCache;
}

export class Decoder extends Module {
  readonly cfg: DecoderConfig;
  #invFreq: Record<LayerKind, { freq: Tensor; scaling: number }> | undefined;

  constructor(cfg: DecoderConfig, opts: DecoderOptions = {}) {
    super();
    this.cfg = cfg;
    const n = cfg.names, empty = opts.empty ?? false, seed = opts.seed ?? 0;
    attach(this, n.embed, new Embedding(cfg.vocabSize, cfg.hiddenSize, { empty, seed }));
    if (cfg.learnedPositions) {
      attach(
        this,
        n.positions!,
        new Embedding(cfg.maxPositions, cfg.hiddenSize, { empty, seed: seed + 1 }),
      );
    }
    const layers = attach(this, n.layers, new ModuleList<DecoderLayer>());
    for (let i = 0; i < cfg.numLayers; i++) {
      layers.push(
        new DecoderLayer(cfg, i, { empty, seed: seed + 7, noWeights: opts.noLayerWeights }),
      );
    }
    attach(this, n.finalNorm, makeNorm(cfg, cfg.hiddenSize, empty));
    if (cfg.tieEmbeddings) {
      // The head shares the embedding's tensor: one parameter, two names (HF's tied weights).
      const head = attach(
        this,
        n.lmHead,
        new Linear(cfg.hiddenSize, cfg.vocabSize, { bias: false, empty: true }),
      );
      head.param("weight").release();
      head.setParameter("weight", this.embed.weight);
    } else {
      attach(
        this,
        n.lmHead,
        new Linear(cfg.hiddenSize, cfg.vocabSize, { bias: false, empty, seed: seed + 3 }),
      );
    }
    if (cfg.rope) this.#invFreq = ropeTables(cfg);
  }

  get embed(): Embedding {
    return lookup<Embedding>(this, this.cfg.names.embed);
  }

  get layers(): ModuleList<DecoderLayer> {
    return lookup<ModuleList<DecoderLayer>>(this, this.cfg.names.layers);
  }

  /** Final hidden states [B, T, H] for token ids i32 [B, T]. */
  hidden(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    const cfg = this.cfg;
    if (ids.rank !== 2) {
      throw new TypeError(
        `Cannot run the decoder on ids of shape [${ids.shape}]: expected [batch, length]`,
      );
    }
    const [, t] = ids.shape;
    const positions = opts.positions ?? T.reshape(T.arange(t), [1, t]);
    let x = this.embed.forward(ids);
    if (cfg.embedScale !== 1) x = T.scale(x, Math.fround(cfg.embedScale));
    if (cfg.learnedPositions) {
      x = T.add(x, lookup<Embedding>(this, cfg.names.positions!).forward(positions));
    }
    const cache = opts.cache;
    if (cache && (cache.batch !== ids.shape[0] || cache.length + t > cache.maxLen)) {
      throw new RangeError(
        `Cannot run the decoder on ids of shape [${ids.shape}] with a KV cache of batch ${cache.batch} at length ${cache.length}: its capacity is ${cache.maxLen}`,
      );
    }
    const ctx: LayerContext = {
      positions,
      keyMask: opts.keyMask,
      segmentIds: opts.segmentIds,
      invFreq: this.#invFreq,
      cache,
    };
    for (const layer of this.layers) {
      x = opts.gradientCheckpointing
        ? T.checkpoint((h) => layer.forward(h, ctx), [x])
        : layer.forward(x, ctx);
    }
    if (cache) cache.length += t;
    return (lookup(this, cfg.names.finalNorm) as unknown as { forward(x: Tensor): Tensor }).forward(
      x,
    );
  }

  /** Vocabulary logits [B, T, V] for hidden states [B, T, H] (with final soft-capping). */
  logits(hidden: Tensor): Tensor {
    let y = lookup<Linear>(this, this.cfg.names.lmHead).forward(hidden);
    const cap = this.cfg.finalSoftcap;
    if (cap) y = T.scale(T.tanh(T.scale(y, 1 / cap)), cap);
    return y;
  }

  forward(ids: Tensor, opts: ForwardOptions = {}): Tensor {
    return this.logits(this.hidden(ids, opts));
  }

  override release(): void {
    super.release();
    for (const r of Object.values(this.#invFreq ?? {})) r.freq.release();
  }
}

function ropeTables(cfg: DecoderConfig): Record<LayerKind, { freq: Tensor; scaling: number }> {
  const make = (r: NonNullable<DecoderConfig["rope"]>["full"]) => {
    const f = T.ropeFrequencies(cfg.headDim, {
      theta: r.theta,
      partialRotaryFactor: r.partial,
      scaling: r.scaling,
      maxPositionEmbeddings: cfg.maxPositions,
    });
    return { freq: T.keep(T.tensor(f.invFreq, [f.invFreq.length])), scaling: f.attentionScaling };
  };
  const full = make(cfg.rope!.full);
  const sliding = cfg.rope!.sliding === cfg.rope!.full ? full : make(cfg.rope!.sliding);
  return { full, sliding };
}
