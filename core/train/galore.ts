// GaLore (Zhao et al. 2024) as LlamaFactory uses it: galore_torch's GaLoreAdamW over three
// groups, the decayed and undecayed ordinary parameters and the 2-D weights of the target Linear
// layers. Every `updateInterval` steps a target's gradient G [m, n] is decomposed (SVD) and its top
// `rank` singular vectors kept: the right ones P [r, n] when m >= n (Adam then runs on G Pᵀ), else
// the left ones U [m, r] (on Uᵀ G). The normalized Adam step is projected back (· P or U ·),
// scaled by `scale`, and applied; decay comes after the update, as galore_torch does. Every
// parameter follows galore_torch's Adam: denominator sqrt(v) + eps, step lr·sqrt(1-β2^t)/(1-β1^t).

import { topSvd } from "../method/svd.ts";
import { noGrad } from "../tensor/autograd.ts";
import { gpu } from "../tensor/gpu.ts";
import { Linear, type Module } from "../tensor/nn.ts";
import { add, addInPlace, div } from "../tensor/ops/binary.ts";
import { zeros } from "../tensor/ops/creation.ts";
import { matmul } from "../tensor/ops/matmul.ts";
import { addScalar, scale, sqrt, square } from "../tensor/ops/unary.ts";
import { Optimizer, type ParamGroup, type Slot } from "../tensor/optim.ts";
import { keep } from "../tensor/scope.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { decayGroups } from "../method/param_groups.ts";

export interface GaloreOptions {
  rank: number;
  updateInterval: number;
  scale: number;
}

export interface GaloreAdamWOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

// Exact SVDs up to this many columns (Jacobi is cubic); larger gradients use 8 subspace
// iterations of the randomized SVD, whose top vectors span nearly the same subspace.
const EXACT_SVD_COLS = 512;

export class GaloreAdamW extends Optimizer {
  protected readonly type = "galore_adamw";
  protected readonly slotNames = ["exp_avg", "exp_avg_sq", "projector"] as const;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly #galore: Map<Tensor, GaloreOptions>;

  /** `galore` lists the projected weights (2-D) with their options; the rest is plain Adam. */
  constructor(
    groups: readonly ParamGroup[],
    galore: ReadonlyMap<Tensor, GaloreOptions>,
    opts: GaloreAdamWOptions,
  ) {
    super(groups, opts.lr, opts.weightDecay ?? 0);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-6;
    this.#galore = new Map(galore);
    for (const [p, o] of galore) {
      if (p.rank !== 2) {
        throw new TypeError(`Cannot project a ${p.rank}-D parameter with GaLore: expected 2-D`);
      }
      if (!(Number.isInteger(o.rank) && o.rank >= 1 && o.rank <= Math.min(...p.shape))) {
        throw new RangeError(
          `Cannot use GaLore rank ${o.rank} on a [${p.shape}] weight: expected 1 to ${
            Math.min(...p.shape)
          }`,
        );
      }
    }
  }

  /** Whether the projection keeps G's columns (right vectors: m >= n) or its rows. */
  #right(p: Tensor): boolean {
    return p.shape[0] >= p.shape[1];
  }

  #shapes(p: Tensor): Record<string, number[]> {
    const o = this.#galore.get(p), [m, n] = p.shape;
    if (!o) return { exp_avg: [...p.shape], exp_avg_sq: [...p.shape] };
    const low = this.#right(p) ? [m, o.rank] : [o.rank, n];
    return { exp_avg: low, exp_avg_sq: low, projector: this.#right(p) ? [o.rank, n] : [m, o.rank] };
  }

  protected override slotSizes(p: Tensor): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.#shapes(p)).map(([k, s]) => [k, s.reduce((a, b) => a * b, 1)]),
    );
  }

  protected createSlots(p: Tensor): Record<string, Tensor> {
    return keep(Object.fromEntries(Object.entries(this.#shapes(p)).map(([k, s]) => [k, zeros(s)])));
  }

  /** New projectors from the SVD of each due gradient (step 0, interval, 2 × interval, ...). */
  override async prepare(): Promise<void> {
    const due = [...this.#galore].filter(([p, o]) =>
      p.grad && !p.grad.released && this.slotOf(p).step % o.updateInterval === 0
    );
    const hosts = await Promise.all(due.map(([p]) => p.grad!.data()));
    due.forEach(([p, o], i) => {
      const [m, n] = p.shape;
      const a = { data: Float64Array.from(hosts[i]), rows: m, cols: n };
      const exact = Math.min(m, n) <= EXACT_SVD_COLS;
      const { u, vt } = topSvd(a, { rank: o.rank, niter: exact ? -1 : 8, seed: i });
      const proj = this.#right(p)
        ? Float32Array.from(vt.data.subarray(0, o.rank * n))
        : Float32Array.from({ length: m * o.rank }, (_, k) =>
          u.data[Math.floor(k / o.rank) * u.cols + (k % o.rank)]);
      gpu().upload(this.slotOf(p).buffers.projector.buffer("load"), proj);
    });
  }

  protected update(p: Tensor, g: Tensor, slot: Slot, o: { lr: number; weightDecay: number }) {
    const [b1, b2] = this.betas, t = slot.step, b = slot.buffers;
    const galore = this.#galore.get(p), right = this.#right(p);
    noGrad(() => {
      const proj = b.projector;
      const r = !galore
        ? g
        : right
        ? matmul(g, proj, { transB: true })
        : matmul(proj, g, { transA: true });
      const m = add(scale(b.exp_avg, b1), scale(r, 1 - b1));
      const v = add(scale(b.exp_avg_sq, b2), scale(square(r), 1 - b2));
      for (const [k, x] of [["exp_avg", m], ["exp_avg_sq", v]] as const) {
        b[k].release();
        b[k] = keep(x);
      }
      let step = div(m, addScalar(sqrt(v), this.eps));
      if (galore) step = scale(right ? matmul(step, proj) : matmul(proj, step), galore.scale);
      addInPlace(p, scale(step, -o.lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t)));
      if (o.weightDecay > 0) addInPlace(p, scale(p, -o.lr * o.weightDecay));
    });
  }
}

/**
 * LlamaFactory's _create_galore_optimizer groups: every trainable 2-D weight of a Linear whose
 * name contains a target (all Linear layers but the head for "all") is projected; the others are
 * split into decayed and undecayed groups as usual.
 */
export function galoreOptimizer(
  model: Module,
  args: {
    targets: readonly string[];
    galore: GaloreOptions;
    lr: number;
    weightDecay: number;
    betas: readonly [number, number];
    eps: number;
  },
): GaloreAdamW {
  const all = args.targets.length === 1 && args.targets[0] === "all";
  const projected = new Map<Tensor, GaloreOptions>();
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear)) continue;
    const hit = all ? !/(^|\.)lm_head$/.test(name) : args.targets.some((t) => name.includes(t));
    if (hit && m.weight.requiresGrad) projected.set(m.weight, args.galore);
  }
  if (projected.size === 0) {
    throw new TypeError(
      `Cannot use GaLore: no trainable Linear weight matches galore_target ${
        args.targets.join(",")
      }`,
    );
  }
  const rest = decayGroups(model, { lr: args.lr, weightDecay: args.weightDecay })
    .map((g) => ({ ...g, params: g.params.filter((p) => !projected.has(p)) }))
    .filter((g) => g.params.length > 0);
  const groups = [...rest, {
    params: [...projected.keys()],
    lr: args.lr,
    weightDecay: args.weightDecay,
  }];
  return new GaloreAdamW(groups, projected, {
    lr: args.lr,
    betas: args.betas,
    eps: args.eps,
    weightDecay: args.weightDecay,
  });
}
