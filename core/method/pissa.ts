// PiSSA (Meng et al. 2024) as PEFT's LoraLayer.pissa_init: with W ≈ U S V^T over the top r
// singular triplets, A = diag(sqrt(S / s)) V^T, B = U diag(sqrt(S / s)), and the base weight
// becomes the residual W - s B A, so the layer's output is unchanged at initialisation.
// The SVD runs on the host in f64 (see svd.ts for its cost).

import { readF32 } from "./_host.ts";
import { topSvd } from "./svd.ts";
import type { LoraLinear } from "../tensor/lora.ts";
import { tensor } from "../tensor/tensor.ts";

export interface PissaOptions {
  /** Subspace iterations of the randomized SVD (LlamaFactory's pissa_iter); -1 = exact SVD. */
  niter: number;
  seed?: number;
}

/** Initialises `lora` from the principal singular vectors of its base weight. */
export async function pissaInit(lora: LoraLinear, opts: PissaOptions): Promise<void> {
  const base = lora.denseBase("initialise with PiSSA");
  const out = lora.outFeatures, inF = lora.inFeatures, r = lora.r;
  if (r > Math.min(out, inF)) {
    throw new RangeError(
      `Cannot initialise a rank ${r} LoRA layer with PiSSA: its weight [${out}, ${inF}] has at most ${
        Math.min(out, inF)
      } singular values`,
    );
  }
  const [w] = await readF32([base.weight]);
  const res = topSvd({ data: Float64Array.from(w), rows: out, cols: inF }, {
    rank: r,
    niter: opts.niter,
    seed: opts.seed,
  });
  const s = lora.scaling;
  const a = new Float32Array(r * inF), b = new Float32Array(out * r);
  const resid = Float64Array.from(w);
  for (let k = 0; k < r; k++) {
    const g = Math.sqrt(res.s[k] / s);
    for (let j = 0; j < inF; j++) a[k * inF + j] = g * res.vt.data[k * inF + j];
    for (let i = 0; i < out; i++) b[i * r + k] = g * res.u.data[i * r + k];
  }
  // W - s B A, from the rounded f32 factors so that residual + s B A reproduces W closely.
  for (let i = 0; i < out; i++) {
    for (let k = 0; k < r; k++) {
      const bik = s * b[i * r + k];
      if (bik === 0) continue;
      for (let j = 0; j < inF; j++) resid[i * inF + j] -= bik * a[k * inF + j];
    }
  }
  base.loadState(new Map([["weight", tensor(resid, [out, inF], { dtype: base.weight.dtype })]]), {
    strict: false,
  });
  const ta = tensor(a, [r, inF]), tb = tensor(b, [out, r]);
  lora.setFactors(ta, tb);
  if (lora.useDora) lora.resetMagnitude();
  lora.pissaInit = { a, b };
}
