// LoRA (Hu et al. 2021) and DoRA (Liu et al. 2024) around a frozen Linear. The module tree
// mirrors PEFT's tuners/lora/layer.py (children `base_layer`, `lora_A`, `lora_B`, parameter
// `lora_magnitude_vector`), so a parameter's dotted name is its PEFT adapter key minus the
// "base_model.model." prefix. DoRA follows PEFT's tuners/lora/dora.py: the row norm of
// W + s·B·A is recomputed each forward and detached from the graph. Over a QuantLinear (QLoRA,
// PEFT's bnb.Linear4bit layer) the base's own quantized forward runs and the low-rank branch is
// added; merging and DoRA need the dense weight and refuse.

import { noGrad } from "./autograd.ts";
import { add, div, mul } from "./ops/binary.ts";
import { cast, castRaw } from "./ops/cast.ts";
import { Rng, zeros } from "./ops/creation.ts";
import { dropout } from "./ops/dropout.ts";
import { matmul } from "./ops/matmul.ts";
import { sum } from "./ops/reduce.ts";
import { reshape } from "./ops/shape.ts";
import { addScalar, scale, sqrt, square } from "./ops/unary.ts";
import { Linear, Module, type Parameter, parameter } from "./nn.ts";
import { QuantLinear } from "./quant_linear.ts";
import { type DType, numel, type Tensor, tensor } from "./tensor.ts";

export interface LoraOptions {
  /** Rank of the update. */
  r: number;
  /** Scale numerator (default r, so the scale is 1). */
  alpha?: number;
  /** Dropout probability on the LoRA branch input (default 0). */
  dropout?: number;
  /** Rank-stabilised scale alpha / sqrt(r) instead of alpha / r. */
  useRslora?: boolean;
  /** Weight-decomposed LoRA: a trainable magnitude per output row. */
  useDora?: boolean;
  /** Seed of lora_A's host initialisation (default 0). */
  seed?: number;
}

/** PEFT's scaling: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function loraScaling(r: number, alpha: number, useRslora = false): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}

/** Tensors of one LoRA layer, for the functional forward. */
export interface LoraTensors {
  /** [out, in] base weight (frozen). */
  weight: Tensor;
  bias?: Tensor | null;
  /** [r, in] */
  loraA: Tensor;
  /** [out, r] */
  loraB: Tensor;
  /** [out] DoRA magnitude; absent for plain LoRA. */
  magnitude?: Tensor | null;
}

export interface LoraForwardOptions {
  scaling: number;
  /** Dropout probability of the LoRA branch input. */
  dropout?: number;
  /** Dropout mask seed; null or absent turns dropout off (evaluation). */
  seed?: number | null;
}

/**
 * y = x W^T + b + s · dropout(x) A^T B^T, or with a magnitude m (DoRA, as PEFT computes it):
 * y = x W^T + b + (m/n - 1) · (x' W^T) + (m/n) · s · x' A^T B^T with x' = dropout(x) and
 * n = ||W + s B A|| over the input dimension, detached. Without dropout this is
 * (m/n) ⊙ (x W^T + s x A^T B^T) + b. The LoRA branch runs in the factors' dtype.
 */
export function loraLinear(x: Tensor, p: LoraTensors, opts: LoraForwardOptions): Tensor {
  const [out, inF] = p.weight.shape;
  const r = p.loraA.shape[0];
  if (x.rank === 0 || x.shape[x.rank - 1] !== inF) {
    throw new TypeError(
      `Cannot apply LoRA layer (${inF} -> ${out}, rank ${r}) to a tensor of shape [${x.shape}]: expected a last dimension of ${inF}`,
    );
  }
  checkShape("lora_A", p.loraA, [r, inF]);
  checkShape("lora_B", p.loraB, [out, r]);
  if (p.magnitude) checkShape("lora_magnitude_vector", p.magnitude, [out]);
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : reshape(x, [numel(lead), inF]);
  const ldt = p.loraA.dtype;
  const xl = x2.dtype === ldt ? x2 : cast(x2, ldt);
  const drop = opts.dropout ?? 0;
  const xd = drop > 0 && opts.seed != null ? dropout(xl, drop, { seed: opts.seed }) : xl;
  const lora = scale(
    matmul(matmul(xd, p.loraA, { transB: true }), p.loraB, { transB: true }),
    opts.scaling,
  );
  let y: Tensor;
  if (!p.magnitude) {
    y = add(
      matmul(x2, p.weight, { transB: true }),
      lora.dtype === x2.dtype ? lora : cast(lora, x2.dtype),
    );
  } else {
    const norm = noGrad(() => weightNorm(p.weight, p.loraA, p.loraB, opts.scaling));
    const mns = div(p.magnitude, norm); // [out]
    if (xd === xl) {
      y = mul(add(matmul(xl, asMatmulB(p.weight, ldt), { transB: true }), lora), mns);
    } else {
      // PEFT's dropout path: the base output stays on the undropped input.
      const baseOut = matmul(x2, p.weight, { transB: true });
      const dropped = matmul(xd, asMatmulB(p.weight, ldt), { transB: true });
      y = add(
        baseOut.dtype === ldt ? baseOut : cast(baseOut, ldt),
        add(mul(dropped, addScalar(mns, -1)), mul(lora, mns)),
      );
    }
    if (y.dtype !== x2.dtype) y = cast(y, x2.dtype);
  }
  if (p.bias) y = add(y, p.bias);
  return x.rank === 2 ? y : reshape(y, [...lead, out]);
}

/** ||W + s B A|| per output row, in the factors' dtype (no gradient). */
export function weightNorm(weight: Tensor, a: Tensor, b: Tensor, scaling: number): Tensor {
  return noGrad(() => sqrt(sum(square(combined(weight, a, b, scaling)), 1)));
}

/** W + s B A in the factors' dtype (no gradient). */
function combined(weight: Tensor, a: Tensor, b: Tensor, scaling: number): Tensor {
  return noGrad(() => {
    const w = weight.dtype === a.dtype ? weight : castRaw(weight, a.dtype);
    return add(w, scale(matmul(b, a), scaling));
  });
}

/** A frozen weight as matmul's b for an input of dtype `dt` (bf16 is widened in-kernel). */
function asMatmulB(w: Tensor, dt: DType): Tensor {
  return w.dtype === dt || w.dtype === "bf16" ? w : noGrad(() => castRaw(w, dt));
}

function checkShape(what: string, t: Tensor, want: number[]): void {
  if (t.rank !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw new TypeError(`Cannot use ${what} of shape [${t.shape}]: expected [${want}]`);
  }
}

/** A module holding one "weight": PEFT's bias-free nn.Linear for lora_A and lora_B. */
export class LoraFactor extends Module {
  constructor(weight: Tensor) {
    super();
    this.setParameter("weight", weight);
  }
  get weight(): Parameter {
    return this.param("weight");
  }
}

/** A Linear with a trainable low-rank update; the base stays frozen. */
export class LoraLinear extends Module {
  readonly r: number;
  readonly alpha: number;
  readonly scaling: number;
  readonly dropout: number;
  readonly useRslora: boolean;
  readonly useDora: boolean;
  /** Dropout mask seed of the current step (set per step by the trainer); null = no dropout. */
  dropoutSeed: number | null = null;
  /** The base layer alone, as PEFT's disable_adapter() (DPO's reference log-probs). */
  disabled = false;
  /** PiSSA's initial factors (host copies), so a trained adapter converts to plain LoRA. */
  pissaInit: { a: Float32Array; b: Float32Array } | null = null;

  private constructor(base: Linear | QuantLinear, opts: LoraOptions) {
    super();
    const { r } = opts;
    if (!Number.isInteger(r) || r < 1) {
      throw new RangeError(`Cannot create a LoRA layer of rank ${r}: expected a positive integer`);
    }
    const p = opts.dropout ?? 0;
    if (!(p >= 0 && p < 1)) {
      throw new RangeError(
        `Cannot create a LoRA layer with dropout ${p}: expected a value in [0, 1)`,
      );
    }
    this.r = r;
    this.alpha = opts.alpha ?? r;
    this.useRslora = opts.useRslora ?? false;
    this.useDora = opts.useDora ?? false;
    this.scaling = loraScaling(r, this.alpha, this.useRslora);
    this.dropout = p;
    if (this.useDora && base instanceof QuantLinear) {
      throw new TypeError(
        "Cannot create a DoRA layer over a quantized base: DoRA needs the dense weight (use_dora with quantization_bit is not supported yet)",
      );
    }
    base.freeze();
    this.setModule("base_layer", base);
    // PEFT: kaiming_uniform_(a=sqrt(5)) on lora_A, which is U(-1/sqrt(in), 1/sqrt(in)); B = 0.
    const inF = base.inFeatures, bound = inF > 0 ? 1 / Math.sqrt(inF) : 0;
    const rng = new Rng(opts.seed ?? 0);
    const a = new Float32Array(r * inF);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
    this.setModule("lora_A", new LoraFactor(parameter(tensor(a, [r, inF]))));
    this.setModule("lora_B", new LoraFactor(parameter(zeros([base.outFeatures, r]))));
    if (this.useDora) this.resetMagnitude();
  }

  /** Wraps `base` (kept, frozen): A kaiming-uniform [r, in], B zeros [out, r]. */
  static fromBase(base: Linear | QuantLinear, opts: LoraOptions): LoraLinear {
    if (!(base instanceof Linear || base instanceof QuantLinear)) {
      throw new TypeError(
        `Cannot wrap a ${
          (base as object).constructor.name
        } in LoRA: expected a Linear or a QuantLinear`,
      );
    }
    return new LoraLinear(base, opts);
  }

  get base(): Linear | QuantLinear {
    return this.module<Linear | QuantLinear>("base_layer");
  }

  /** The base as a dense Linear, for what needs its weight (merging, DoRA, PiSSA). */
  denseBase(what: string): Linear {
    const b = this.base;
    if (b instanceof QuantLinear) {
      throw new TypeError(
        `Cannot ${what} a LoRA layer over a quantized base: its weight is stored in ${b.quantType} (load the model without quantization_bit)`,
      );
    }
    return b;
  }
  get inFeatures(): number {
    return this.base.inFeatures;
  }
  get outFeatures(): number {
    return this.base.outFeatures;
  }
  get loraA(): Parameter {
    return this.module<LoraFactor>("lora_A").weight;
  }
  get loraB(): Parameter {
    return this.module<LoraFactor>("lora_B").weight;
  }
  get magnitude(): Parameter | null {
    return this.maybeParam("lora_magnitude_vector");
  }

  forward(x: Tensor): Tensor {
    const base = this.base;
    if (this.disabled) return base.forward(x);
    if (base instanceof QuantLinear) return this.#quantForward(x, base);
    return loraLinear(x, {
      weight: base.weight,
      bias: base.bias,
      loraA: this.loraA,
      loraB: this.loraB,
      magnitude: this.magnitude,
    }, { scaling: this.scaling, dropout: this.dropout, seed: this.dropoutSeed });
  }

  // QLoRA: the quantized base's forward plus s · dropout(x) A^T B^T in the factors' dtype.
  #quantForward(x: Tensor, base: QuantLinear): Tensor {
    const y = base.forward(x);
    const lead = x.shape.slice(0, -1);
    const x2 = reshape(x, [numel(lead), this.inFeatures]);
    const xl = x2.dtype === this.loraA.dtype ? x2 : cast(x2, this.loraA.dtype);
    const seed = this.dropoutSeed;
    const xd = this.dropout > 0 && seed != null ? dropout(xl, this.dropout, { seed }) : xl;
    let lora = scale(
      matmul(matmul(xd, this.loraA, { transB: true }), this.loraB, { transB: true }),
      this.scaling,
    );
    if (lora.dtype !== y.dtype) lora = cast(lora, y.dtype);
    return add(y, reshape(lora, [...lead, this.outFeatures]));
  }

  /** Replaces A [r, in] and B [out, r] (the module takes them; requiresGrad is kept). */
  setFactors(a: Tensor, b: Tensor): void {
    checkShape("lora_A", a, [this.r, this.inFeatures]);
    checkShape("lora_B", b, [this.outFeatures, this.r]);
    this.module("lora_A").loadState({ weight: a });
    this.module("lora_B").loadState({ weight: b });
  }

  /** Replaces the DoRA magnitude [out]. */
  setMagnitude(m: Tensor): void {
    if (!this.useDora) {
      throw new TypeError("Cannot set the magnitude of a LoRA layer: it was created without DoRA");
    }
    checkShape("lora_magnitude_vector", m, [this.outFeatures]);
    this.loadState(new Map([["lora_magnitude_vector", m]]), { strict: false });
  }

  /** DoRA: sets the magnitude to ||W + s B A|| per row (PEFT's initialisation). */
  resetMagnitude(): void {
    const old = this.magnitude;
    const m = weightNorm(this.base.weight, this.loraA, this.loraB, this.scaling);
    m.requiresGrad = old?.requiresGrad ?? true;
    if (old) {
      old.grad?.release();
      old.release();
    }
    this.setParameter("lora_magnitude_vector", parameter(m, { requiresGrad: m.requiresGrad }));
  }

  /** The merged weight [out, in] in the factors' dtype: W + s B A, DoRA (m/n) ⊙ (W + s B A). */
  mergedWeight(): Tensor {
    return noGrad(() => {
      const w = combined(this.denseBase("merge").weight, this.loraA, this.loraB, this.scaling);
      const m = this.magnitude;
      if (!m) return w;
      const n = sqrt(sum(square(w), 1));
      return mul(w, reshape(div(m, n), [this.outFeatures, 1]));
    });
  }

  /** A plain Linear computing what this layer computes (without dropout), in the base's dtype. */
  fuse(): Linear {
    const base = this.denseBase("merge");
    const lin = new Linear(this.inFeatures, this.outFeatures, { bias: false, empty: true });
    lin.param("weight").release();
    const w = noGrad(() => {
      const merged = this.mergedWeight();
      return merged.dtype === base.weight.dtype ? merged : castRaw(merged, base.weight.dtype);
    });
    lin.setParameter("weight", parameter(w, { requiresGrad: false }));
    const b = base.bias;
    if (b) lin.setParameter("bias", parameter(b.view(b.shape), { requiresGrad: false }));
    return lin;
  }
}
