// Pairwise encoding for preference stages, as LlamaFactory's PairwiseDatasetProcessor does it
// (src/llamafactory/data/processor/pairwise.py): the prompt and each of the two replies are encoded
// one-turn, both replies truncated to the same budget, prompts labelled IGNORE_INDEX.
//
// A pair is kept as one feature of two packed sequences (attention mask 1 = chosen, 2 = rejected),
// so the tokenized cache and the trainer's shuffling treat it as one unit.

import type { PreferenceExample } from "../../core/data/conversation.ts";
import { collate, type Feature, type HostBatch, IGNORE_INDEX } from "../../core/data/collate.ts";
import type { Example } from "../../core/data/dataset_info.ts";
import type { Prepared, StageCollateOptions, StageContext } from "../../core/stage/stage.ts";
import { inferSeqlen } from "../../core/data/encode.ts";
import type { Template, TemplateTokenizer } from "../../core/data/template.ts";

export interface PairwiseOptions {
  readonly template: Template;
  readonly tokenizer: TemplateTokenizer;
  readonly cutoffLen: number;
  readonly enableThinking?: boolean | null;
}

export interface EncodedPair {
  readonly chosen: { readonly inputIds: number[]; readonly labels: number[] };
  readonly rejected: { readonly inputIds: number[]; readonly labels: number[] };
}

/** LlamaFactory's valid pair: an odd number of prompt messages ending on the user's turn. */
export function isValidPair(e: object): e is PreferenceExample {
  if (!("chosen" in e) || !("rejected" in e)) return false;
  const m = (e as PreferenceExample).messages;
  return m.length % 2 === 1 && (m.at(-1)!.role === "user" || m.at(-1)!.role === "observation");
}

/** LlamaFactory's `_encode_data_example` of the pairwise processor. */
export function encodePairwise(e: PreferenceExample, opts: PairwiseOptions): EncodedPair {
  const { template, tokenizer } = opts;
  const encode = (reply: PreferenceExample["chosen"]) =>
    template.encodeOneturn(tokenizer, {
      messages: [...e.messages, reply],
      system: e.system,
      tools: e.tools,
    }, { enableThinking: opts.enableThinking });
  const [promptIds, chosenIds] = encode(e.chosen);
  const [, rejectedIds] = encode(e.rejected);
  if (template.efficientEos) {
    const eos = tokenizer.eosTokenId;
    if (eos === undefined) {
      throw new TypeError(
        `Cannot encode with template "${template.name}": it appends EOS but the tokenizer has none`,
      );
    }
    chosenIds.push(eos);
    rejectedIds.push(eos);
  }
  const [sourceLen, targetLen] = inferSeqlen(
    promptIds.length,
    Math.max(chosenIds.length, rejectedIds.length),
    opts.cutoffLen,
  );
  const prompt = promptIds.slice(0, sourceLen);
  const masked: number[] = new Array(sourceLen).fill(IGNORE_INDEX);
  const side = (ids: number[]) => {
    const reply = ids.slice(0, targetLen);
    return { inputIds: [...prompt, ...reply], labels: [...masked, ...reply] };
  };
  return { chosen: side(chosenIds), rejected: side(rejectedIds) };
}

/** The pair as one feature: chosen then rejected, attention mask 1 then 2. */
export function pairFeature(p: EncodedPair): Feature {
  const c = p.chosen.inputIds.length, r = p.rejected.inputIds.length;
  const attentionMask = new Int32Array(c + r).fill(1);
  attentionMask.fill(2, c);
  return {
    inputIds: Int32Array.from([...p.chosen.inputIds, ...p.rejected.inputIds]),
    labels: Int32Array.from([...p.chosen.labels, ...p.rejected.labels]),
    attentionMask,
  };
}

/** Splits a pair feature back into its chosen and rejected sequences. */
export function splitPair(f: Feature): { chosen: Feature; rejected: Feature } {
  const mask = f.attentionMask;
  const at = mask ? mask.indexOf(2) : -1;
  if (!mask || at < 1 || !f.labels) {
    throw new TypeError(
      "Cannot split a preference pair: expected a feature with labels and attention mask 1 (chosen) then 2 (rejected)",
    );
  }
  const part = (a: number, b: number): Feature => ({
    inputIds: f.inputIds.subarray(a, b),
    labels: f.labels!.subarray(a, b),
  });
  return { chosen: part(0, at), rejected: part(at, f.inputIds.length) };
}

/** LlamaFactory's pairwise preprocessing: valid pairs encoded, the rest counted in warnings. */
export function preparePairwise(examples: readonly Example[], ctx: StageContext): Prepared {
  const features: Feature[] = [];
  let invalid = 0, empty = 0;
  for (const e of examples) {
    if (!isValidPair(e)) {
      invalid++;
      continue;
    }
    const pair = encodePairwise(e, {
      template: ctx.template,
      tokenizer: ctx.tokenizer,
      cutoffLen: ctx.args.cutoff_len,
      enableThinking: ctx.args.enable_thinking,
    });
    // A reply truncated to nothing has no log-probability to compare (labels shift by one).
    const hasLabel = (l: number[]) => l.some((x) => x !== IGNORE_INDEX);
    if (!hasLabel(pair.chosen.labels.slice(1)) || !hasLabel(pair.rejected.labels.slice(1))) {
      empty++;
      continue;
    }
    features.push(pairFeature(pair));
  }
  const warnings: string[] = [];
  if (invalid) {
    warnings.push(
      `Dropped ${invalid} of ${examples.length} examples that are not a prompt with chosen and rejected replies`,
    );
  }
  if (empty) warnings.push(`Dropped ${empty} pairs whose replies cutoff_len truncated away`);
  return { features, warnings };
}

/** PairwiseDataCollatorWithPadding: chosen rows, then rejected rows, padded to multiples of 8. */
export function collatePairwise(
  features: readonly Feature[],
  opts: StageCollateOptions,
): HostBatch {
  const pairs = features.map(splitPair);
  return collate([...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)], {
    padTokenId: opts.padTokenId,
    padToMultipleOf: opts.padToMultipleOf ?? 8,
    labels: "features",
  });
}
