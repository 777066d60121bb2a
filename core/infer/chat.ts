// The chat engine behind `cli.ts chat`, the API server and the board: a model with its adapters
// merged, the tokenizer fixed by the template, and streaming replies to a conversation
// (LlamaFactory's ChatModel over its HuggingfaceEngine).

import type { Args } from "../config/schema.ts";
import type { Message } from "../data/conversation.ts";
import type { Template } from "../data/template.ts";
import { checkTemplateTokens } from "../data/template_check.ts";
import { readGenerationConfig } from "../io/hf_config.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import type { Decoder } from "../model/decoder.ts";
import { loadModel, quantizationOf } from "../model/load.ts";
import type { Registries } from "../plugins.ts";
import { type GenerateOptions, streamGenerate } from "./generate.ts";

export interface ReplyOptions {
  system?: string;
  tools?: string;
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxNewTokens?: number;
  repetitionPenalty?: number;
  seed?: number;
}

export class ChatModel {
  readonly model: Decoder;
  readonly tokenizer: Tokenizer;
  readonly template: Template;
  readonly args: Args;
  #eos: number[];
  #seed: number;

  private constructor(
    model: Decoder,
    tokenizer: Tokenizer,
    template: Template,
    args: Args,
    eos: number[],
  ) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.template = template;
    this.args = args;
    this.#eos = eos;
    this.#seed = args.seed;
  }

  /** Loads model_name_or_path with adapter_name_or_path merged, as `llamafactory-cli chat` does. */
  static async load(args: Args, registries: Registries): Promise<ChatModel> {
    const dir = args.model_name_or_path;
    if (!dir) throw new TypeError('Cannot chat: "model_name_or_path" is not set');
    const { model, family } = await loadModel(dir, registries.models, {
      quantization: quantizationOf(args),
    });
    try {
      if (args.adapter_name_or_path?.length) {
        const method = registries.methods.get(args.finetuning_type);
        await method.apply(model, args, { family, trainable: false });
      }
      model.freeze();
      const template = registries.templates.get(args.template ?? family.defaultTemplate);
      const tokenizer = template.fixTokenizer(
        checkTemplateTokens(template, await Tokenizer.load(dir), {
          source: dir,
          given: args.template !== undefined,
          defaultTemplate: family.defaultTemplate,
          candidates: registries.templates.list(),
        }),
      );
      const gen = await readGenerationConfig(dir);
      const eos = [...new Set([...template.stopTokenIds(tokenizer), ...gen.eos_token_id])];
      return new ChatModel(model, tokenizer, template, args, eos);
    } catch (e) {
      model.release();
      throw e;
    }
  }

  /** Prompt ids for a conversation whose last message is the user's (LlamaFactory's encode_oneturn). */
  promptIds(messages: readonly Message[], opts: ReplyOptions = {}): number[] {
    if (!messages.length || messages.length % 2 === 0) {
      throw new TypeError(
        `Cannot reply to ${messages.length} messages: expected user and assistant turns ending with the user's`,
      );
    }
    const paired = [...messages, { role: "assistant" as const, content: "" }];
    const system = opts.system ?? this.args.default_system;
    const [prompt] = this.template.encodeOneturn(this.tokenizer, {
      messages: paired,
      system,
      tools: opts.tools,
    });
    return prompt;
  }

  /**
   * The generation options of a reply: the config's, overridden by `opts`, with the template's
   * EOS ids and stop words; `seed` only when `opts` names one (stream() counts one up per reply).
   */
  generationOptions(opts: ReplyOptions = {}): GenerateOptions & { tokenizer: Tokenizer } {
    const a = this.args;
    return {
      maxNewTokens: opts.maxNewTokens ?? a.max_new_tokens,
      doSample: opts.doSample ?? a.do_sample,
      temperature: opts.temperature ?? a.temperature,
      topP: opts.topP ?? a.top_p,
      topK: opts.topK ?? a.top_k,
      repetitionPenalty: opts.repetitionPenalty ?? a.repetition_penalty,
      eosTokenIds: this.#eos,
      padTokenId: this.tokenizer.padTokenId ?? this.#eos[0],
      seed: opts.seed,
      stopStrings: this.template.stopWords,
      tokenizer: this.tokenizer,
    };
  }

  /** Streams the reply to `messages` as text deltas. */
  async *stream(messages: readonly Message[], opts: ReplyOptions = {}): AsyncGenerator<string> {
    const chunks = streamGenerate(this.model, [this.promptIds(messages, opts)], {
      ...this.generationOptions(opts),
      seed: opts.seed ?? this.#seed++,
    });
    for await (const c of chunks) if (c.text[0]) yield c.text[0];
  }

  /** The whole reply to `messages`. */
  async reply(messages: readonly Message[], opts: ReplyOptions = {}): Promise<string> {
    let out = "";
    for await (const t of this.stream(messages, opts)) out += t;
    return out;
  }

  release(): void {
    this.model.release();
  }
}
