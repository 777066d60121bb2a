// Feedback (KTO) encoding, as LlamaFactory's FeedbackDatasetProcessor does it
// (src/llamafactory/data/processor/feedback.py): each example's prompt with its own reply (the
// target, tagged desirable or not) and with the reply of the example before it in the
// preprocessing batch (the mismatched "KL" sample KTO estimates its reference point from).
//
// One feature holds both sequences: attention mask 1 (desirable) or 3 (undesirable) on the
// target, 2 on the KL sample, so the tokenized cache and shuffling need nothing new.

import { collate, type Feature, type HostBatch, IGNORE_INDEX } from "../../core/data/collate.ts";
import type { Message } from "../../core/data/conversation.ts";
import type { Example, FeedbackExample } from "../../core/data/dataset_info.ts";
import { inferSeqlen } from "../../core/data/encode.ts";
import { PREPROCESSING_BATCH } from "../../core/data/packing.ts";
import type { Prepared, StageCollateOptions, StageContext } from "../../core/stage/stage.ts";

const DESIRABLE = 1, KL = 2, UNDESIRABLE = 3;

/** A KTO batch: the targets as a HostBatch, their KL samples beside them. */
export interface FeedbackBatch extends HostBatch {
  readonly kl: HostBatch;
  /** Each target row's kto_tag. */
  readonly desirable: readonly boolean[];
}

function isFeedback(e: Example): e is FeedbackExample {
  const m = e.messages;
  return "label" in e && m.length % 2 === 0 && m.at(-1)!.role === "assistant";
}

/** LlamaFactory's feedback preprocessing over batches of PREPROCESSING_BATCH examples. */
export function prepareFeedback(examples: readonly Example[], ctx: StageContext): Prepared {
  const { template, tokenizer } = ctx;
  const features: Feature[] = [];
  let invalid = 0;
  const encode = (e: FeedbackExample, reply: Message) => {
    const [prompt, response] = template.encodeOneturn(tokenizer, {
      messages: [...e.messages.slice(0, -1), reply],
      system: e.system,
      tools: e.tools,
    }, { enableThinking: ctx.args.enable_thinking });
    if (template.efficientEos) response.push(tokenizer.eosTokenId!);
    const [s, t] = inferSeqlen(prompt.length, response.length, ctx.args.cutoff_len);
    const ids = [...prompt.slice(0, s), ...response.slice(0, t)];
    return { ids, labels: [...new Array(s).fill(IGNORE_INDEX), ...response.slice(0, t)] };
  };
  for (let start = 0; start < examples.length; start += PREPROCESSING_BATCH) {
    const batch = examples.slice(start, start + PREPROCESSING_BATCH);
    // The KL reply of example i is the reply of example i - 1 (the last one's for the first).
    const replies = batch.map((e): Message =>
      e.messages.at(-1) ?? { role: "assistant", content: "" }
    );
    batch.forEach((e, i) => {
      if (!isFeedback(e)) return void invalid++;
      const target = encode(e, e.messages.at(-1)!);
      const kl = encode(e, replies[(i + batch.length - 1) % batch.length]);
      const tag = e.label ? DESIRABLE : UNDESIRABLE;
      features.push({
        inputIds: Int32Array.from([...target.ids, ...kl.ids]),
        labels: Int32Array.from([...target.labels, ...kl.labels]),
        attentionMask: Int32Array.from([
          ...target.ids.map(() => tag),
          ...kl.ids.map(() => KL),
        ]),
      });
    });
  }
  const warnings: string[] = [];
  if (invalid) {
    warnings.push(
      `Dropped ${invalid} of ${examples.length} examples without a kto_tag and a final reply (name a boolean column as "kto_tag" in dataset_info.json's "columns")`,
    );
  }
  const desirable = features.filter((f) => f.attentionMask![0] === DESIRABLE).length;
  if (features.length && (desirable === 0 || desirable === features.length)) {
    warnings.push("The dataset has one kto_tag only: KTO learns from desirable and undesirable");
  }
  return { features, warnings };
}

/** KTODataCollatorWithPadding: targets and KL samples padded apart, with the tags. */
export function collateFeedback(
  features: readonly Feature[],
  opts: StageCollateOptions,
): FeedbackBatch {
  const targets: Feature[] = [], kls: Feature[] = [], desirable: boolean[] = [];
  for (const f of features) {
    const mask = f.attentionMask, at = mask ? mask.indexOf(KL) : -1;
    if (!mask || at < 1 || !f.labels) {
      throw new TypeError(
        "Cannot collate a KTO feature: expected labels and attention mask 1 or 3 (target) then 2 (KL sample)",
      );
    }
    const part = (a: number, b: number) => ({
      inputIds: f.inputIds.subarray(a, b),
      labels: f.labels!.subarray(a, b),
    });
    targets.push(part(0, at));
    kls.push(part(at, f.inputIds.length));
    desirable.push(mask[0] === DESIRABLE);
  }
  const pad = { padTokenId: opts.padTokenId, padToMultipleOf: opts.padToMultipleOf ?? 8 };
  return { ...collate(targets, pad), kl: collate(kls, pad), desirable };
}
