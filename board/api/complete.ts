// Plain text continuation for /v1/completions: the prompt is tokenized as is (no chat template),
// and generation stops at the tokenizer's EOS or the template's stop tokens (no stop words).
import type { ChatModel, ReplyOptions } from "../../core/infer/chat.ts";
import type { GenerateOptions } from "../../core/infer/generate.ts";

/** The prompt ids and generation options that continue `prompt`. */
export function completionJob(
  chat: ChatModel,
  prompt: string,
  opts: ReplyOptions = {},
): { ids: number[]; options: GenerateOptions } {
  const tk = chat.tokenizer;
  const eos = [...new Set([...chat.template.stopTokenIds(tk), tk.eosTokenId ?? -1])]
    .filter((id) => id >= 0);
  const ids = tk.encode(prompt);
  if (!ids.length) {
    throw new TypeError(`Cannot complete prompt "${prompt}": it encodes to no tokens`);
  }
  const options = {
    ...chat.generationOptions(opts),
    eosTokenIds: eos,
    padTokenId: tk.padTokenId ?? eos[0],
    stopStrings: [],
  };
  return { ids, options };
}
