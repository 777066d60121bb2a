// Whether a tokenizer can serve a chat template. The markers a template writes as special tokens
// (ChatML's <|im_start|>, Gemma's <start_of_turn>, the stop word that replaces EOS) must each be
// one id of the tokenizer; otherwise every turn becomes a run of ordinary pieces the model never
// saw, and the replaced EOS a fresh id past the embedding it was trained with.

import type { Slot, Template } from "./template.ts";

/** What the check needs of a tokenizer (core/io/tokenizer.ts's Tokenizer provides it). */
export interface TemplateCheckTokenizer {
  encode(text: string): number[];
  readonly specialTokenIds?: readonly number[];
  idToToken?(id: number): string | undefined;
}

export interface TemplateCheckOptions {
  /** Where the tokenizer came from (the model folder), for the message. */
  readonly source?: string;
  /** Whether the config set "template" (otherwise `template` is the model's default). */
  readonly given?: boolean;
  /** The model family's default template name, suggested first when it fits. */
  readonly defaultTemplate?: string;
  /** Templates to suggest from: those that fit this tokenizer through its own special tokens. */
  readonly candidates?: readonly Template[];
}

// <|im_start|>, and DeepSeek's full-width <｜User｜>.
const PIPE = /<\|[^|<>\s]+\|>|<｜[^｜<>\s]+｜>/g;
// <start_of_turn>; looked for in the turn slots only, because tool slots write tags such as
// <tool_response> that many tokenizers of the same family keep as plain text.
const SNAKE = /<[a-z]+(?:_[a-z]+)+>/g;

/** The template's markers that `tokenizer` does not encode as one id, in first-use order. */
export function missingTemplateTokens(
  template: Template,
  tokenizer: TemplateCheckTokenizer,
): string[] {
  return requiredTokens(template, tokenizer).filter((m) => tokenizer.encode(m).length !== 1);
}

/**
 * Throws a TypeError naming "template", the template, the markers the tokenizer lacks and the
 * templates that fit; returns `tokenizer` otherwise, so calls chain.
 */
export function checkTemplateTokens<T extends TemplateCheckTokenizer>(
  template: Template,
  tokenizer: T,
  opts: TemplateCheckOptions = {},
): T {
  const missing = missingTemplateTokens(template, tokenizer);
  if (!missing.length) return tokenizer;
  const which = opts.given === false
    ? `"${template.name}" (the model's default, as "template" is not set)`
    : `"${template.name}"`;
  const from = opts.source ? ` of "${opts.source}"` : "";
  const fits = (opts.candidates ?? [])
    .filter((t) => t.name !== template.name && tokenBased(t))
    .filter((t) => missingTemplateTokens(t, tokenizer).length === 0)
    .map((t) => t.name)
    .sort((a, b) => Number(b === opts.defaultTemplate) - Number(a === opts.defaultTemplate));
  const hint = fits.length
    ? `; set "template" to one it serves: ${fits.map((n) => `"${n}"`).join(", ")}`
    : '; set "template" to the chat template this model was trained with';
  throw new TypeError(
    `Cannot use template ${which} with the tokenizer${from}: it has no single token for ${
      missing.map((m) => `"${m}"`).join(", ")
    }, which the template writes as special tokens${hint}`,
  );
}

/** Markers that must be one id each. */
function requiredTokens(t: Template, tk: TemplateCheckTokenizer): string[] {
  const turns = [t.formatPrefix, t.formatSystem, t.formatUser, t.formatAssistant];
  const all = [...turns, t.formatFunction, t.formatObservation];
  const out = new Set<string>();
  for (const slots of all) for (const s of slots) if (isToken(s)) out.add(s.token);
  // A template that names no token by id (Zephyr's <|user|>) is plain text to tokenizers
  // without <|...|> special tokens (TinyLlama-Chat); to one with them, its markers are meant as such.
  if (tokenBased(t) || hasPipeSpecials(tk)) {
    for (const m of texts(all).flatMap((s) => s.match(PIPE) ?? [])) out.add(m);
  }
  if (tokenBased(t)) {
    for (const m of texts(turns).flatMap((s) => s.match(SNAKE) ?? [])) out.add(m);
  }
  if (t.replaceEos) out.add(t.stopWords[0]);
  return [...out];
}

/** Templates that name tokens by id: a token slot, stop words, or a stop word as EOS. */
function tokenBased(t: Template): boolean {
  const slots = [t.formatPrefix, t.formatSystem, t.formatUser, t.formatAssistant].flat();
  return t.replaceEos || t.stopWords.length > 0 || slots.some(isToken);
}

function hasPipeSpecials(tk: TemplateCheckTokenizer): boolean {
  if (!tk.specialTokenIds || !tk.idToToken) return false;
  return tk.specialTokenIds.some((id) => {
    const s = tk.idToToken!(id);
    return s !== undefined && new RegExp(`^(?:${PIPE.source})$`).test(s);
  });
}

function isToken(s: Slot): s is { readonly token: string } {
  return typeof s !== "string" && "token" in s;
}

function texts(groups: readonly (readonly Slot[])[]): string[] {
  return groups.flat().filter((s): s is string => typeof s === "string");
}
