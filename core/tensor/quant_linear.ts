// QuantLinear: a frozen Linear whose weight lives quantized on the GPU, as bitsandbytes'
// Linear4bit / Linear8bitLt do when LlamaFactory loads a model with quantization_bit. Forward
// dequantizes into a temporary and multiplies (ops/quant.ts), except 4-bit decoding (at most 8
// rows), which multiplies straight from the codes (matvec_q4); only the input gets a gradient.
// The packed tensors are frozen parameters named after bitsandbytes' state dict with "_" for
// "." ("weight" holds the codes, "weight_absmax", "weight_nested_absmax", ...), so the module
// owns and releases them like any parameter. The bias stays in the model's dtype.
// 8-bit differs from bitsandbytes' LLM.int8, which quantizes rows and keeps outlier columns in
// f16 because it multiplies int8 activations by int8 weights: activations here never leave
// f32/f16 (the weight is dequantized first), so blockwise int8 with an absmax per 64 suffices.

import { add } from "./ops/binary.ts";
import { dequantize, quantMatmul, type QuantTensors } from "./ops/quant.ts";
import { reshape } from "./ops/shape.ts";
import type { KernelType } from "./gpu.ts";
import { Module, type Parameter, parameter } from "./nn.ts";
import { quantizeHost, type QuantType } from "./quantize.ts";
import { numel, type Tensor, tensor } from "./tensor.ts";

export interface QuantizeOptions {
  /** LlamaFactory's quantization_bit. */
  bits: 4 | 8;
  /** The 4-bit code (quantization_type, default "nf4"). */
  type?: "nf4" | "fp4";
  /** Keep the absmax as 8-bit codes (double_quantization, default true as LlamaFactory). */
  double?: boolean;
}

function frozen(values: Float32Array | Uint32Array): Parameter {
  const dtype = values instanceof Uint32Array ? "u32" : "f32";
  return parameter(tensor(values, [values.length], { dtype }), { requiresGrad: false });
}

export class QuantLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly quantType: QuantType;
  readonly #offset: number;

  /** Quantizes `weight` ([out, in] row-major, on the host); takes ownership of `bias`. */
  constructor(
    weight: ArrayLike<number>,
    shape: readonly [number, number],
    opts: QuantizeOptions & { bias?: Tensor | null },
  ) {
    super();
    const [out, inF] = shape;
    if (weight.length !== out * inF) {
      throw new TypeError(
        `Cannot quantize ${weight.length} values as a weight of shape [${shape}]: expected ${
          out * inF
        }`,
      );
    }
    if (opts.bits !== 4 && opts.bits !== 8) {
      throw new RangeError(`Cannot quantize a weight to ${opts.bits} bits: expected 4 or 8`);
    }
    this.inFeatures = inF;
    this.outFeatures = out;
    this.quantType = opts.bits === 8 ? "int8" : opts.type ?? "nf4";
    const q = quantizeHost(weight, this.quantType, { double: opts.double ?? true });
    this.#offset = q.nested?.offset ?? 0;
    this.setParameter("weight", frozen(q.codes));
    this.setParameter("weight_absmax", frozen(q.nested?.codes ?? q.absmax));
    if (q.nested) this.setParameter("weight_nested_absmax", frozen(q.nested.absmax));
    if (opts.bias) this.setParameter("bias", parameter(opts.bias, { requiresGrad: false }));
  }

  /** No dense weight to read: throws (code written for Linear fails loudly, never on codes). */
  get weight(): never {
    throw new TypeError(
      `Cannot read the weight of QuantLinear(${this.inFeatures}, ${this.outFeatures}): it is stored in ${this.quantType}; use dequantized()`,
    );
  }

  get bias(): Parameter | null {
    return this.maybeParam("bias");
  }

  /** The packed tensors, as the quantized matmul reads them. */
  get tensors(): QuantTensors {
    const nested = this.maybeParam("weight_nested_absmax");
    return {
      type: this.quantType,
      shape: [this.outFeatures, this.inFeatures],
      codes: this.param("weight"),
      absmax: this.param("weight_absmax"),
      nested: nested && { absmax: nested, offset: this.#offset },
    };
  }

  /** The dequantized weight [out, in] (a new tensor, for checks and merging elsewhere). */
  dequantized(dtype: KernelType = "f32"): Tensor {
    return dequantize(this.tensors, dtype);
  }

  forward(x: Tensor): Tensor {
    const n = x.shape[x.rank - 1];
    if (x.rank === 0 || n !== this.inFeatures) {
      throw new TypeError(
        `Cannot apply QuantLinear(${this.inFeatures}, ${this.outFeatures}) to a tensor of shape [${x.shape}]: expected a last dimension of ${this.inFeatures}`,
      );
    }
    const lead = x.shape.slice(0, -1);
    let y = quantMatmul(x.rank === 2 ? x : reshape(x, [numel(lead), n]), this.tensors);
    if (this.bias) y = add(y, this.bias);
    return x.rank === 2 ? y : reshape(y, [...lead, this.outFeatures]);
  }
}

/** Paths of the QuantLinear layers under `model` (LoRA bases included), in model order. */
export function quantizedPaths(model: Module): string[] {
  return [...model.namedModules()].filter(([, m]) => m instanceof QuantLinear).map(([p]) => p);
}

/** Parameters of `model`, a quantized weight counting its out × in values, not its packed words. */
export function countDense(model: Module): number {
  let n = model.countParameters();
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof QuantLinear)) continue;
    n += m.inFeatures * m.outFeatures + (m.bias?.size ?? 0) - m.countParameters();
  }
  return n;
}
