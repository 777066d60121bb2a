// Runs a stage's encoding over the training and evaluation examples, through the tokenized
// cache at tokenized_path when one is set.

import type { Feature } from "../data/collate.ts";
import type { Example } from "../data/dataset_info.ts";
import { type CacheKey, sha256, withTokenizedCache } from "../data/tokenized_cache.ts";
import type { Stage, StageContext } from "./stage.ts";

export interface PrepareOptions {
  /** LlamaFactory's tokenized_path: load features from it, or save them there. */
  readonly tokenizedPath?: string;
  /** LlamaFactory's overwrite_cache. */
  readonly overwriteCache?: boolean;
}

export interface PreparedSplits {
  readonly train: Feature[];
  readonly eval?: Feature[];
  readonly warnings: string[];
  /** True when the features came from the cache. */
  readonly loaded: boolean;
}

/** Everything the features depend on, hashed into the cache's key. */
export async function featuresKey(
  stage: Stage,
  examples: { train: readonly Example[]; eval?: readonly Example[] },
  ctx: StageContext,
): Promise<CacheKey> {
  const tk = ctx.tokenizer, a = ctx.args;
  return {
    stage: stage.name,
    template: ctx.template.name,
    // The data keys only: callers pass the whole config, whose other keys (max_steps,
    // output_dir, ...) must not make a cache unusable.
    cutoff_len: a.cutoff_len,
    train_on_prompt: a.train_on_prompt,
    mask_history: a.mask_history,
    packing: a.packing,
    neat_packing: a.neat_packing,
    enable_thinking: a.enable_thinking,
    tokenizer: {
      vocabSize: tk.vocabSize,
      bos: tk.bosTokenId,
      eos: tk.eosTokenId,
      pad: tk.padTokenId,
      addBos: tk.config?.add_bos_token,
    },
    data: await sha256(JSON.stringify([examples.train, examples.eval ?? null])),
  };
}

/** Features of the train (and eval) examples, from the cache when it matches. */
export async function prepareSplits(
  stage: Stage,
  examples: { train: readonly Example[]; eval?: readonly Example[] },
  ctx: StageContext & PrepareOptions,
): Promise<PreparedSplits> {
  const warnings: string[] = [];
  const key = ctx.tokenizedPath === undefined ? {} : await featuresKey(stage, examples, ctx);
  const { splits, loaded } = await withTokenizedCache(ctx.tokenizedPath, () => {
    const train = stage.prepare(examples.train, ctx);
    warnings.push(...train.warnings);
    if (!examples.eval) return { train: train.features };
    const ev = stage.prepare(examples.eval, ctx);
    warnings.push(...ev.warnings.map((w) => `Evaluation set: ${w}`));
    return { train: train.features, eval: ev.features };
  }, { key, overwrite: ctx.overwriteCache });
  if (splits.train.length === 0) {
    throw new RangeError(
      `Cannot train stage ${stage.name}: no valid example is left after encoding` +
        (warnings.length ? ` (${warnings.join("; ")})` : ""),
    );
  }
  return { ...splits, warnings, loaded };
}
