// One decoder layer: attention and MLP (or mixture of experts) with pre-norms, and the optional
// sandwich norms of Gemma 2/3. Every flag comes from DecoderConfig; no family is named here.

import * as T from "../tensor/mod.ts";
import { type Linear, Module } from "../tensor/nn.ts";
import { LayerNorm, Linear as LinearModule, RMSNorm } from "../tensor/nn.ts";
import { attach, lookup } from "./_paths.ts";
import type { DecoderConfig, LayerKind } from "./config.ts";
import type { KvCache } from "./kv_cache.ts";

type Tensor = T.Tensor;

/** Per-forward inputs every layer shares. */
export interface LayerContext {
  /** i32 [B, T] (or [1, T]) positions of the queries. */
  positions: Tensor;
  /** [B, S] 1 = attend, 0 = padding. */
  keyMask?: Tensor;
  /** [B, S] segment ids of packed sequences (block-diagonal attention). */
  segmentIds?: Tensor;
  /** RoPE inverse frequencies for each layer kind. */
  invFreq?: Record<LayerKind, { freq: Tensor; scaling: number }>;
  /** KV cache: this forward's keys and values go in at `cache.length`. */
  cache?: KvCache;
}

export function makeNorm(cfg: DecoderConfig, dim: number, empty: boolean): Module {
  return cfg.norm === "rms"
    ? new RMSNorm(dim, { eps: cfg.normEps, offset: cfg.normOffset, empty })
    : new LayerNorm(dim, { eps: cfg.normEps, bias: cfg.normBias, empty });
}

function norm(m: Module, x: Tensor): Tensor {
  return (m as RMSNorm | LayerNorm).forward(x);
}

function activate(cfg: DecoderConfig, x: Tensor): Tensor {
  switch (cfg.activation) {
    case "silu":
      return T.silu(x);
    case "gelu":
      return T.gelu(x);
    case "gelu_tanh":
      return T.gelu(x, "tanh");
    case "relu":
      return T.relu(x);
  }
}

export class DecoderLayer extends Module {
  readonly cfg: DecoderConfig;
  readonly kind: LayerKind;
  readonly index: number;

  constructor(
    cfg: DecoderConfig,
    index: number,
    opts: { empty?: boolean; seed?: number; noWeights?: boolean } = {},
  ) {
    super();
    this.cfg = cfg;
    this.index = index;
    this.kind = cfg.layerKinds[index];
    const n = cfg.names;
    const empty = opts.empty ?? false;
    const seed = (opts.seed ?? 0) + index * 101;
    const h = cfg.hiddenSize, d = cfg.headDim;
    const lin = (path: string, i: number, o: number, bias: boolean, s: number) =>
      attach(
        this,
        path,
        new LinearModule(i, o, { bias, empty, seed: seed + s, noWeight: opts.noWeights }),
      );
    attach(this, n.inputNorm, makeNorm(cfg, h, empty));
    if (cfg.fusedQkv) {
      lin(n.qkv!, h, (cfg.numHeads + 2 * cfg.numKvHeads) * d, cfg.qkvBias, 1);
    } else {
      lin(n.q, h, cfg.numHeads * d, cfg.qkvBias, 1);
      lin(n.k, h, cfg.numKvHeads * d, cfg.qkvBias, 2);
      lin(n.v, h, cfg.numKvHeads * d, cfg.qkvBias, 3);
    }
    lin(n.o, cfg.numHeads * d, h, cfg.outBias, 4);
    if (cfg.qkNorm) {
      attach(this, n.qNorm!, makeNorm(cfg, d, empty));
      attach(this, n.kNorm!, makeNorm(cfg, d, empty));
    }
    attach(this, n.mlpNorm, makeNorm(cfg, h, empty));
    if (cfg.sandwichNorm) {
      attach(this, n.postAttnNorm!, makeNorm(cfg, h, empty));
      attach(this, n.postMlpNorm!, makeNorm(cfg, h, empty));
    }
    if (cfg.moe) {
      const m = cfg.moe;
      lin(n.router!, h, m.numExperts, false, 5);
      for (let e = 0; e < m.numExperts; e++) {
        const p = `${n.experts}.${e}`;
        lin(`${p}.${n.expertGate}`, h, m.expertIntermediateSize, false, 10 + 3 * e);
        lin(`${p}.${n.expertUp}`, h, m.expertIntermediateSize, false, 11 + 3 * e);
        lin(`${p}.${n.expertDown}`, m.expertIntermediateSize, h, false, 12 + 3 * e);
      }
    } else if (cfg.fusedGateUp) {
      lin(n.gateUp!, h, 2 * cfg.intermediateSize, cfg.mlpBias, 6);
      lin(n.down, cfg.intermediateSize, h, cfg.mlpBias, 7);
    } else {
      if (cfg.gatedMlp) lin(n.gate, h, cfg.intermediateSize, cfg.mlpBias, 8);
      lin(n.up, h, cfg.intermediateSize, cfg.mlpBias, 9);
      lin(n.down, cfg.intermediateSize, h, cfg.mlpBias, 7);
    }
  }

  #linear(path: string, x: Tensor): Tensor {
    return lookup<Linear>(this, path).forward(x);
  }

  forward(x: Tensor, ctx: LayerContext): Tensor {
    const n = this.cfg.names;
    let h = this.#attention(norm(lookup(this, n.inputNorm), x), ctx);
    if (this.cfg.sandwichNorm) h = norm(lookup(this, n.postAttnNorm!), h);
    x = T.add(x, h);
    let m = norm(lookup(this, n.mlpNorm), x);
    m = this.cfg.moe ? this.#moe(m) : this.#mlp(m);
    if (this.cfg.sandwichNorm) m = norm(lookup(this, n.postMlpNorm!), m);
    return T.add(x, m);
  }

  #attention(x: Tensor, ctx: LayerContext): Tensor {
    const cfg = this.cfg, n = cfg.names;
    const [b, t] = x.shape;
    const d = cfg.headDim, hq = cfg.numHeads, hkv = cfg.numKvHeads;
    let q: Tensor, k: Tensor, v: Tensor;
    if (cfg.fusedQkv) {
      [q, k, v] = T.split(this.#linear(n.qkv!, x), [hq * d, hkv * d, hkv * d], -1);
    } else {
      q = this.#linear(n.q, x);
      k = this.#linear(n.k, x);
      v = this.#linear(n.v, x);
    }
    // [B, T, H*D] -> [B, H, T, D]; one position (decoding) has the same layout either way.
    const heads = (y: Tensor, nh: number) =>
      t === 1 ? T.reshape(y, [b, nh, 1, d]) : T.transpose(T.reshape(y, [b, t, nh, d]), 1, 2);
    q = heads(q, hq);
    k = heads(k, hkv);
    v = heads(v, hkv);
    if (cfg.qkNorm) {
      q = norm(lookup(this, n.qNorm!), q);
      k = norm(lookup(this, n.kNorm!), k);
    }
    const rope = ctx.invFreq?.[this.kind];
    if (rope) {
      q = T.rope(q, ctx.positions, rope.freq, { attentionScaling: rope.scaling });
      k = T.rope(k, ctx.positions, rope.freq, { attentionScaling: rope.scaling });
    }
    const opts: T.AttentionOptions = {
      causal: true,
      keyMask: ctx.keyMask,
      segmentIds: ctx.segmentIds,
      window: this.kind === "sliding" ? cfg.slidingWindow : undefined,
      softcap: cfg.attnSoftcap,
      scale: cfg.attnScale,
    };
    const cache = ctx.cache;
    if (cache) {
      const off = cache.length;
      cache.write(this.index, k, v);
      // A prefill at offset 0 attends to its own keys (S = T, cheaper); later steps to the cache.
      if (off > 0) {
        k = cache.keys[this.index];
        v = cache.values[this.index];
        Object.assign(opts, { keyMask: cache.mask, queryOffset: off });
      }
    }
    const o = T.attention(q, k, v, opts);
    const merged = t === 1 ? o : T.transpose(o, 1, 2);
    return this.#linear(n.o, T.reshape(merged, [b, t, hq * d]));
  }

  #mlp(x: Tensor): Tensor {
    const cfg = this.cfg, n = cfg.names;
    if (cfg.fusedGateUp) {
      const [gate, up] = T.split(this.#linear(n.gateUp!, x), [
        cfg.intermediateSize,
        cfg.intermediateSize,
      ], -1);
      return this.#linear(n.down, T.mul(activate(cfg, gate), up));
    }
    if (!cfg.gatedMlp) return this.#linear(n.down, activate(cfg, this.#linear(n.up, x)));
    return this.#linear(
      n.down,
      T.mul(activate(cfg, this.#linear(n.gate, x)), this.#linear(n.up, x)),
    );
  }

  /** Mixture of experts, computed densely: every expert sees every token, weighted by the router. */
  #moe(x: Tensor): Tensor {
    const cfg = this.cfg, n = cfg.names, m = cfg.moe!;
    const probs = T.softmax(this.#linear(n.router!, x));
    let w = T.topkMask(probs, m.topK);
    if (m.normTopK) w = T.div(w, T.sum(w, -1, { keepdim: true }));
    let out: Tensor | null = null;
    for (let e = 0; e < m.numExperts; e++) {
      const p = `${n.experts}.${e}`;
      const g = activate(cfg, this.#linear(`${p}.${n.expertGate}`, x));
      const y = this.#linear(
        `${p}.${n.expertDown}`,
        T.mul(g, this.#linear(`${p}.${n.expertUp}`, x)),
      );
      const we = T.slice(w, -1, e, e + 1);
      const part = T.mul(y, we);
      out = out ? T.add(out, part) : part;
    }
    return out!;
  }
}
