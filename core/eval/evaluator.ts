// Multiple-choice evaluation as LlamaFactory's Evaluator runs it (src/llamafactory/eval/
// evaluator.py): each question after n_shot solved dev questions, encoded with the chat template;
// the answer is the choice letter whose token has the largest logit at the last prompt position.
// Results go to save_dir as results.json (each question's choice) and results.log (accuracies).
import type { Args } from "../config/schema.ts";
import type { Message } from "../data/conversation.ts";
import type { Template, TemplateTokenizer } from "../data/template.ts";
import type { Decoder } from "../model/decoder.ts";
import * as T from "../tensor/mod.ts";
import { EVAL_TEMPLATES, formatExample } from "./eval_template.ts";
import { CATEGORIES, CHOICES, loadTask, type Question, type Subject } from "./task.ts";

export interface EvalOptions {
  /** Prompts per forward pass (LlamaFactory's eval batch_size). */
  batchSize?: number;
  nShot?: number;
  lang?: string;
  /** Seeds the draw of the support set for each question. */
  seed?: number;
  /** Called with the questions scored so far across all subjects: 0 first, total last. */
  onProgress?: (done: number, total: number) => void;
}

export interface EvalResult {
  /** Each subject's choices by question index, as results.json holds them. */
  choices: Record<string, Record<string, string>>;
  /** Accuracy x100 per subject. */
  subjects: Record<string, number>;
  /** Accuracy x100 per category with "Average" first; categories without questions left out. */
  categories: Record<string, number>;
}

/** What evaluation needs of a loaded chat model (core/infer/chat.ts's ChatModel has it). */
export interface EvalModel {
  readonly model: Decoder;
  readonly tokenizer: TemplateTokenizer;
  readonly template: Template;
}

/** The letter of the largest logit among `choiceIds` in each row of `logits` [B, vocab]. */
export function pickChoices(
  logits: ArrayLike<number>,
  opts: { vocab: number; choiceIds: readonly number[] },
): string[] {
  const rows = logits.length / opts.vocab;
  if (!Number.isInteger(rows)) {
    throw new TypeError(
      `Cannot pick choices from ${logits.length} logits: expected a multiple of the vocabulary size ${opts.vocab}`,
    );
  }
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    opts.choiceIds.forEach((id, k) => {
      if (logits[r * opts.vocab + id] > logits[r * opts.vocab + opts.choiceIds[best]]) best = k;
    });
    out.push(String.fromCharCode(65 + best));
  }
  return out;
}

/** Logits f32 [B, vocab] at the last token of each prompt (left-padded into one batch). */
export async function lastTokenLogits(
  model: Decoder,
  prompts: readonly number[][],
  opts: { padTokenId: number },
): Promise<Float32Array> {
  const b = prompts.length, p = Math.max(...prompts.map((r) => r.length));
  const ids = new Int32Array(b * p).fill(opts.padTokenId);
  const mask = new Int32Array(b * p), pos = new Int32Array(b * p);
  prompts.forEach((row, r) => {
    const pad = p - row.length;
    ids.set(row, r * p + pad);
    mask.fill(1, r * p + pad, (r + 1) * p);
    for (let j = 0; j < row.length; j++) pos[r * p + pad + j] = j;
  });
  const out = T.noGrad(() =>
    T.scope(() => {
      const h = model.hidden(T.tensor(ids, [b, p], { dtype: "i32" }), {
        positions: T.tensor(pos, [b, p], { dtype: "i32" }),
        keyMask: T.tensor(mask, [b, p], { dtype: "i32" }),
      });
      // Left padding puts every row's last token in the last column.
      const y = model.logits(T.slice(h, 1, p - 1, p));
      const flat = T.reshape(y, [b, y.shape[2]]);
      return flat.dtype === "f32" ? flat : T.cast(flat, "f32");
    })
  );
  try {
    return Float32Array.from(await out.data());
  } finally {
    out.release();
  }
}

/** A seeded generator in [0, 1) (mulberry32): support sets repeat across runs. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drawSupport(dev: readonly Question[], n: number, rand: () => number): Question[] {
  const a = [...dev];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, Math.min(n, a.length));
}

/** Scores every question of `subjects` with `m`; returns the choices and accuracies. */
export async function evaluateSubjects(
  m: EvalModel,
  subjects: readonly Subject[],
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const lang = opts.lang ?? "en";
  const tmpl = EVAL_TEMPLATES[lang];
  if (!tmpl) {
    throw new RangeError(
      `Cannot evaluate in language "${lang}": expected one of ${
        Object.keys(EVAL_TEMPLATES).map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  const batch = opts.batchSize ?? 4, nShot = opts.nShot ?? 5, rand = rng(opts.seed ?? 42);
  // NOTE: LlamaFactory takes the last id of each letter's encoding, without special tokens.
  const choiceIds = CHOICES.map((ch) => m.tokenizer.encode(ch).at(-1)!);
  const padTokenId = m.tokenizer.padTokenId ?? m.tokenizer.eosTokenId ?? 0;
  const byCategory = new Map<string, boolean[]>(CATEGORIES.map((c) => [c, []]));
  const result: EvalResult = { choices: {}, subjects: {}, categories: {} };
  const total = subjects.reduce((n, s) => n + s.questions.length, 0);
  let done = 0;
  opts.onProgress?.(0, total);
  for (const s of subjects) {
    const prompts = s.questions.map((q) => {
      const messages: Message[] = formatExample(tmpl, q, {
        support: drawSupport(s.dev, nShot, rand),
        subject: s.name,
      });
      return m.template.encodeOneturn(m.tokenizer, { messages })[0];
    });
    const picked: string[] = [];
    for (let i = 0; i < prompts.length; i += batch) {
      const logits = await lastTokenLogits(m.model, prompts.slice(i, i + batch), { padTokenId });
      picked.push(...pickChoices(logits, { vocab: m.model.cfg.vocabSize, choiceIds }));
      done += Math.min(batch, prompts.length - i);
      opts.onProgress?.(done, total);
    }
    const correct = picked.map((c, i) => c === s.questions[i].answer);
    if (!byCategory.has(s.category)) byCategory.set(s.category, []);
    byCategory.get(s.category)!.push(...correct);
    byCategory.get("Average")!.push(...correct);
    result.choices[s.id] = Object.fromEntries(picked.map((c, i) => [String(i), c]));
    result.subjects[s.id] = mean(correct);
  }
  for (const [c, list] of byCategory) if (list.length) result.categories[c] = mean(list);
  return result;
}

function mean(xs: readonly boolean[]): number {
  return (100 * xs.filter(Boolean).length) / xs.length;
}

/** LlamaFactory's results.log: one `{category:>15}: {accuracy:.2f}` line per category. */
export function formatScores(categories: Readonly<Record<string, number>>): string {
  return Object.entries(categories)
    .map(([c, acc]) => `${c.padStart(15)}: ${acc.toFixed(2)}`)
    .join("\n");
}

/** Writes results.json and results.log into `saveDir`, which must not exist yet (as LlamaFactory). */
export async function saveResults(saveDir: string, result: EvalResult): Promise<void> {
  try {
    await Deno.mkdir(saveDir, { recursive: false });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Deno.errors.AlreadyExists(
        `Cannot save evaluation results to ${saveDir}: the folder already exists`,
      );
    }
    if (e instanceof Deno.errors.NotFound) {
      await Deno.mkdir(saveDir, { recursive: true });
    } else throw e;
  }
  await Deno.writeTextFile(`${saveDir}/results.json`, JSON.stringify(result.choices, null, 2));
  await Deno.writeTextFile(`${saveDir}/results.log`, formatScores(result.categories));
}

/** Runs the `task` of `args` with a loaded model and saves to `save_dir` when set. */
export async function evaluate(
  m: EvalModel,
  args: Args,
  opts: Pick<EvalOptions, "onProgress"> = {},
): Promise<EvalResult> {
  if (!args.task) throw new TypeError('Cannot evaluate: "task" is not set (e.g. task: mmlu_test)');
  const subjects = await loadTask(args.task_dir, args.task);
  const result = await evaluateSubjects(m, subjects, {
    batchSize: args.batch_size,
    nShot: args.n_shot,
    lang: args.lang,
    seed: args.seed,
    onProgress: opts.onProgress,
  });
  if (args.save_dir) await saveResults(args.save_dir, result);
  return result;
}
