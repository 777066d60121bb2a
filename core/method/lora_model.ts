// LoRA over a whole model: wrap Linear layers at given paths, list the LoRA layers, merge them
// back into plain Linears, set the per-step dropout seeds, untie a weight trained on its own.

import { noGrad } from "../tensor/autograd.ts";
import { LoraLinear, type LoraLinear as LoraLinearT, type LoraOptions } from "../tensor/lora.ts";
import { Linear, type Module } from "../tensor/nn.ts";
import { QuantLinear } from "../tensor/quant_linear.ts";
import { scale } from "../tensor/ops/unary.ts";
import { parentOf } from "./targets.ts";

/** Every LoRA layer with its dotted path, in model order. */
export function loraModules(model: Module): [string, LoraLinearT][] {
  return [...model.namedModules()].filter(([, m]) => m instanceof LoraLinear) as [
    string,
    LoraLinearT,
  ][];
}

/** Replaces the (quantized) Linear at each path with a LoRA layer around it (A seeded seed + i). */
export function wrapLora(
  model: Module,
  paths: readonly string[],
  opts: LoraOptions,
): LoraLinearT[] {
  return paths.map((path, i) => {
    const { parent, name } = parentOf(model, path);
    const base = parent.module(name);
    if (!(base instanceof Linear || base instanceof QuantLinear)) {
      throw new TypeError(
        `Cannot wrap "${path}" in LoRA: it is a ${base.constructor.name}, expected a Linear`,
      );
    }
    return parent.setModule(
      name,
      LoraLinear.fromBase(base, { ...opts, seed: (opts.seed ?? 0) + i }),
    );
  });
}

/**
 * Folds every LoRA layer into a plain Linear (W + s B A; DoRA's merged weight) in place and
 * releases the adapter tensors. Returns the merged paths.
 */
export function mergeLora(model: Module): string[] {
  const done: string[] = [];
  for (const [path, lora] of loraModules(model)) {
    const { parent, name } = parentOf(model, path);
    const fused = lora.fuse();
    parent.setModule(name, fused);
    // NOTE: a tied LM head's base weight is the embedding's: release only what the model dropped.
    const used = new Set(model.parameters());
    for (const t of lora.parameters()) {
      if (used.has(t)) continue;
      t.grad?.release();
      t.release();
    }
    done.push(path);
  }
  return done;
}

/**
 * Sets each LoRA layer's dropout seed for this step (distinct per layer), or null to turn
 * dropout off. Keep the seed for the whole step so gradient checkpointing recomputes the same mask.
 */
export function setLoraDropout(model: Module, seed: number | null): void {
  loraModules(model).forEach(([, m], i) => {
    m.dropoutSeed = seed === null ? null : seed * 65_537 + i;
  });
}

/** Runs `fn` with every LoRA layer passing its base through alone (PEFT's disable_adapter). */
export function withAdaptersDisabled<R>(model: Module, fn: () => R): R {
  const layers = loraModules(model).map(([, m]) => m);
  if (layers.length === 0) {
    throw new TypeError("Cannot disable LoRA adapters: the model has no LoRA layer");
  }
  layers.forEach((m) => m.disabled = true);
  try {
    return fn();
  } finally {
    layers.forEach((m) => m.disabled = false);
  }
}

/**
 * Gives the module at `path` its own copies of parameters it shares with other modules (tied
 * embeddings), as PEFT's ModulesToSaveWrapper trains a copy. Returns the untied names.
 */
export function untie(model: Module, path: string): string[] {
  const { parent, name } = parentOf(model, path);
  const target = parent.module(name);
  const untied: string[] = [];
  for (const [local, t] of [...target.namedParameters()]) {
    if (local.includes(".") || !sharedElsewhere(model, target, t)) continue;
    const copy = noGrad(() => scale(t, 1));
    // NOTE: setParameter, not loadState: the other owner keeps using (and owns) the original.
    target.setParameter(local, copy);
    copy.requiresGrad = t.requiresGrad;
    untied.push(`${path}.${local}`);
  }
  return untied;
}

/** True when a leaf module other than `target` owns `t` directly. */
function sharedElsewhere(model: Module, target: Module, t: object): boolean {
  for (const [, m] of model.namedModules()) {
    if (m === target || m.children().length) continue;
    for (const [local, u] of m.namedParameters()) if (!local.includes(".") && u === t) return true;
  }
  return false;
}
