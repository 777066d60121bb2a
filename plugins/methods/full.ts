// Full fine-tuning: every weight trains (LlamaFactory's _setup_full_tuning).
// Reference: LlamaFactory src/llamafactory/model/adapter.py
import type { FinetuningMethod } from "../../core/method/method.ts";
import { decayGroups } from "../../core/method/param_groups.ts";
import { methodState, setMethodState } from "../../core/method/state.ts";
import { loadWeights, saveWeights } from "../../core/method/weights.ts";
import { rejectAdapters, rejectQuantized, settle } from "./_common.ts";

export const full: FinetuningMethod = {
  kind: "method",
  name: "full",
  description: "Train every weight of the model",
  apply(model, args, opts = {}) {
    return settle(() => {
      rejectAdapters("full", args);
      if (opts.trainable ?? true) rejectQuantized("full", model);
      if (opts.trainable ?? true) model.unfreeze();
      else model.freeze();
      setMethodState(model, { method: "full", args, family: opts.family });
      return model.trainableParameters();
    });
  },
  paramGroups(model, opts) {
    methodState(model, "full");
    return decayGroups(model, opts);
  },
  save(model, dir, opts = {}) {
    const s = methodState(model, "full");
    return saveWeights(model, dir, {
      family: s.family,
      baseDir: opts.baseDir ?? s.args.model_name_or_path,
    });
  },
  load(model, dir) {
    return loadWeights(model, dir, { family: methodState(model, "full").family });
  },
};
