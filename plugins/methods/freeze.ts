// Freeze tuning (LlamaFactory's _setup_freeze_tuning): the last n decoder layers train
// (freeze_trainable_layers > 0) or the first n (< 0), optionally only some of their modules
// (freeze_trainable_modules: "all" or first-level names such as mlp, self_attn), plus modules
// outside the layers (freeze_extra_modules: embed_tokens, norm, ...). Everything else is frozen.
// Unlike LlamaFactory's substring test (".1." also matches "experts.1."), names match on
// whole path segments.
// Reference: LlamaFactory src/llamafactory/model/adapter.py
import { closest } from "../../core/registry.ts";
import type { Decoder } from "../../core/model/decoder.ts";
import type { FinetuningMethod, MethodArgs } from "../../core/method/method.ts";
import { decayGroups } from "../../core/method/param_groups.ts";
import { methodState, setMethodState } from "../../core/method/state.ts";
import { loadWeights, saveWeights } from "../../core/method/weights.ts";
import { rejectAdapters, rejectQuantized, settle } from "./_common.ts";

/** The layer indices that train: the last n for n > 0, the first -n for n < 0. */
export function trainableLayerIds(numLayers: number, n: number): number[] {
  if (!Number.isInteger(n)) {
    throw new RangeError(`Cannot freeze with freeze_trainable_layers ${n}: expected an integer`);
  }
  const from = n > 0 ? Math.max(0, numLayers - n) : 0;
  const to = n > 0 ? numLayers : Math.min(-n, numLayers);
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function quote(names: Iterable<string>): string {
  return [...names].map((n) => `"${n}"`).join(", ");
}

function unknown(key: string, name: string, known: string[]): TypeError {
  const hint = closest(name, known);
  return new TypeError(
    `Cannot find module "${name}" of ${key}: expected one of ${quote(known)}${
      hint ? ` (did you mean "${hint}"?)` : ""
    }`,
  );
}

/** Names of the parameters freeze tuning trains, in model order. */
export function freezeSelection(model: Decoder, args: MethodArgs): string[] {
  const layers = model.cfg.names.layers;
  const names = [...model.namedParameters()].map(([n]) => n);
  const inLayer = (n: string) => n.startsWith(`${layers}.`);
  const rest = (n: string) => n.slice(layers.length + 1).split("."); // [index, module, ...]
  const hidden = [...new Set(names.filter(inLayer).map((n) => rest(n)[1]))].sort();
  const outer = [...new Set(names.filter((n) => !inLayer(n)).map((n) => n.split(".").at(-2)!))]
    .sort();
  const modules = args.freeze_trainable_modules ?? ["all"];
  for (const m of modules) {
    if (m !== "all" && !hidden.includes(m)) throw unknown("freeze_trainable_modules", m, hidden);
  }
  const extra = args.freeze_extra_modules ?? [];
  for (const m of extra) if (!outer.includes(m)) throw unknown("freeze_extra_modules", m, outer);
  const ids = new Set(
    trainableLayerIds(model.cfg.numLayers, args.freeze_trainable_layers ?? 2).map(String),
  );
  const all = modules.includes("all");
  return names.filter((n) => {
    if (!inLayer(n)) return extra.includes(n.split(".").at(-2)!);
    const [id, mod] = rest(n);
    return ids.has(id) && (all || modules.includes(mod));
  });
}

export const freeze: FinetuningMethod = {
  kind: "method",
  name: "freeze",
  description: "Train the last (or first) n decoder layers and chosen modules; freeze the rest",
  apply(model, args, opts = {}) {
    return settle(() => {
      rejectAdapters("freeze", args);
      model.freeze();
      if (opts.trainable ?? true) {
        rejectQuantized("freeze", model);
        const chosen = new Set(freezeSelection(model, args));
        if (!chosen.size) {
          throw new TypeError(
            `Cannot apply freeze tuning with freeze_trainable_layers ${
              args.freeze_trainable_layers ?? 2
            }: no parameter would train`,
          );
        }
        for (const [n, t] of model.namedParameters()) if (chosen.has(n)) t.requiresGrad = true;
      }
      setMethodState(model, { method: "freeze", args, family: opts.family });
      return model.trainableParameters();
    });
  },
  paramGroups(model, opts) {
    methodState(model, "freeze");
    return decayGroups(model, opts);
  },
  save(model, dir, opts = {}) {
    const s = methodState(model, "freeze");
    return saveWeights(model, dir, {
      family: s.family,
      baseDir: opts.baseDir ?? s.args.model_name_or_path,
    });
  },
  load(model, dir) {
    return loadWeights(model, dir, { family: methodState(model, "freeze").family });
  },
};
