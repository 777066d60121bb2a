// TRL's ValueHead as LlamaFactory's reward model uses it: dropout (0.1) then a Linear from the
// hidden size to one score, saved beside the adapter or weights as value_head.safetensors with
// the keys v_head.summary.weight and v_head.summary.bias.

import { join } from "node:path";
import { openSafetensors } from "../../core/io/safetensors.ts";
import { writeSafetensors } from "../../core/io/safetensors_write.ts";
import { loadTensor } from "../../core/io/to_gpu.ts";
import type { StageModules } from "../../core/stage/stage.ts";
import * as T from "../../core/tensor/mod.ts";

export const VALUE_HEAD_FILE = "value_head.safetensors";
const SUMMARY_DROPOUT = 0.1;

export class ValueHead extends T.Module {
  constructor(hiddenSize: number, seed: number) {
    super();
    this.setModule("summary", new T.Linear(hiddenSize, 1, { seed }));
  }

  /** Scores [rows, 1] of hidden states [rows, hidden]; dropout with a seed (training) or none. */
  score(hidden: T.Tensor, dropoutSeed: number | null): T.Tensor {
    const x = dropoutSeed === null ? hidden : T.dropout(hidden, SUMMARY_DROPOUT, {
      seed: dropoutSeed,
    });
    return this.module<T.Linear>("summary").forward(x);
  }
}

/** A fresh value head with its files, for the trainer. */
export function valueHeadModules(hiddenSize: number, seed: number): StageModules {
  const head = new ValueHead(hiddenSize, seed);
  const named = () => [...head.namedParameters()].map(([n, t]) => [`v_head.${n}`, t] as const);
  return {
    module: head,
    async save(dir) {
      const hosts = await Promise.all(named().map(([, t]) => t.data()));
      await writeSafetensors(
        join(dir, VALUE_HEAD_FILE),
        named().map(([name, t], i) => ({
          name,
          dtype: "F32",
          shape: t.shape,
          data: Float32Array.from(hosts[i]),
        })),
        { metadata: { format: "pt" } },
      );
    },
    async load(dir) {
      const file = await openSafetensors(join(dir, VALUE_HEAD_FILE));
      const state = new Map<string, T.Tensor>();
      try {
        for (const [name, t] of named()) {
          if (!file.has(name)) {
            throw new TypeError(`Cannot load the value head from "${dir}": "${name}" is missing`);
          }
          state.set(name.slice("v_head.".length), await loadTensor(file, name, { dtype: t.dtype }));
        }
        head.loadState(state, { strict: true });
        state.clear();
      } finally {
        state.forEach((t) => t.release());
        file.close();
      }
    },
  };
}
