// Generation with a KV cache: one prefill of the left-padded batch, then one decode step per new
// token whose input ids, positions and choice stay on the GPU. The token buffer is read back every
// `chunk` steps (each read-back costs about 11 ms in Deno 2.9; see isReadPoint for the first
// ones), and each read overlaps the GPU work that follows it; EOS ids and stop strings are checked
// on what comes back.

import type { Decoder } from "../model/decoder.ts";
import { KvCache } from "../model/kv_cache.ts";
import * as T from "../tensor/mod.ts";
import { decodeStep, prefill } from "./forward.ts";
import { cacheDtype, type Resume, resumeBatch } from "./resume.ts";
import { DecodeState, rowSettings, samplingDefaults, type StepSampling } from "./sampling.ts";
import { findStop, type TextDecoding, TextStream } from "./streamer.ts";

export interface GenerateOptions extends StepSampling {
  maxNewTokens: number;
  /** Decode steps between read-backs of the token buffer (default 8). */
  chunk?: number;
  /** A row stops once its decoded text contains one of these (needs `tokenizer`). */
  stopStrings?: readonly string[];
  tokenizer?: TextDecoding;
  /**
   * Asked after each chunk is taken: when it returns true, no further step is recorded, and the
   * tokens of the steps already on the GPU come as one last chunk (rows not finished stay so).
   */
  stopEarly?: () => boolean;
  /**
   * Takes the cache when the loop stopped early, instead of its release, to resume the rows
   * still going in a new batch (`resume`). Each such row's cache then holds its prompt and
   * tokens but the last one.
   */
  keepCache?: (cache: KvCache) => void;
  /**
   * Resume rows of an earlier batch (their prompts end with their last chosen token, which
   * becomes their token 0 here) beside new rows; see resume.ts.
   */
  resume?: Resume;
}

export interface TokenChunk {
  /**
   * New tokens of each row so far. A row that stopped ends with its EOS id or with the token that
   * completed a stop string (as transformers returns them); later tokens are dropped.
   */
  tokens: number[][];
  /** Rows that stopped (EOS or stop string); after the last chunk every row has ended. */
  finished: boolean[];
}

/** Generates new tokens for each prompt (token ids, no padding); returns them per row. */
export async function generate(
  model: Decoder,
  prompts: number[][],
  opts: GenerateOptions,
): Promise<number[][]> {
  let last: TokenChunk | undefined;
  for await (const c of generateChunks(model, prompts, opts)) last = c;
  return last!.tokens;
}

export interface StreamChunk {
  /** New text of each row since the previous chunk ("" when none). */
  text: string[];
  /** Rows that have ended (EOS, stop string or maxNewTokens). */
  finished: boolean[];
}

/**
 * Generates like `generate()` and yields each row's new text as chunks are read back. A row's text
 * excludes its EOS token and ends just before a stop string.
 */
export async function* streamGenerate(
  model: Decoder,
  prompts: number[][],
  opts: GenerateOptions & { tokenizer: TextDecoding },
): AsyncGenerator<StreamChunk> {
  const eos = new Set(opts.eosTokenIds ?? []);
  const streams = prompts.map(() => new TextStream(opts.tokenizer, opts.stopStrings));
  for await (const c of generateChunks(model, prompts, opts)) {
    const text = c.tokens.map((row, r) => {
      const body = row.length && eos.has(row[row.length - 1]) ? row.slice(0, -1) : row;
      return streams[r].push(body, c.finished[r]);
    });
    yield { text, finished: c.finished };
  }
}

/** The generation loop: yields every row's tokens so far after each read-back. */
export async function* generateChunks(
  model: Decoder,
  prompts: number[][],
  opts: GenerateOptions,
): AsyncGenerator<TokenChunk> {
  const o = { ...samplingDefaults(opts), rows: opts.rows };
  const { maxNew, chunk, stops } = checkOptions(model, prompts, opts);
  const penalty = rowSettings(opts, prompts.length).some((r) => r.repetitionPenalty !== 1);
  const b = prompts.length;
  const p = Math.max(...prompts.map((r) => r.length));
  const { cache, state } = opts.resume
    ? await resumeBatch(model, prompts, { ...o, maxNew, penalty, resume: opts.resume })
    : {
      cache: new KvCache(model.cfg, {
        batch: b,
        maxLen: p + maxNew - 1,
        dtype: cacheDtype(model),
        leftPad: prompts.map((r) => p - r.length),
      }),
      state: new DecodeState({ vocabSize: model.cfg.vocabSize, maxNew, context: prompts, penalty }),
    };
  const rows = prompts.map(() => ({ tokens: [] as number[], finished: false }));
  const eos = new Set(o.eosTokenIds);
  let pending: { read: Promise<ArrayBuffer>; steps: number } | null = null;
  // Reads the token buffer as it will be once the steps recorded so far have run, without waiting.
  const snapshot = (steps: number) => ({
    read: T.gpu().read(state.tokens.buffer("read back"), state.tokens.byteLength),
    steps,
  });
  const absorb = async (snap: { read: Promise<ArrayBuffer>; steps: number }) => {
    const all = new Int32Array(await snap.read);
    rows.forEach((row, r) => {
      if (row.finished) return;
      for (let s = row.tokens.length; s < snap.steps && !row.finished; s++) {
        const id = all[r * maxNew + s];
        row.tokens.push(id);
        if (eos.has(id)) row.finished = true;
      }
      if (stops.length && opts.tokenizer) {
        const cut = stopCut(opts.tokenizer, row.tokens, stops, eos);
        if (cut >= 0) {
          row.tokens.length = cut;
          row.finished = true;
        }
      }
      if (snap.steps === maxNew) row.finished = true;
    });
    return { tokens: rows.map((r) => [...r.tokens]), finished: rows.map((r) => r.finished) };
  };
  let kept = false;
  try {
    if (!opts.resume) T.noGrad(() => T.scope(() => prefill(model, prompts, p, cache, state, o)));
    T.gpu().flush();
    for (let step = 1; step <= maxNew; step++) {
      if (isReadPoint(step, chunk) || step === maxNew) {
        const snap = snapshot(step);
        const prev = pending;
        pending = snap;
        if (prev) {
          yield await absorb(prev);
          if (rows.every((r) => r.finished)) break;
          if (opts.stopEarly?.()) {
            pending = null;
            const last = await absorb(snap);
            if (opts.keepCache) {
              kept = true;
              opts.keepCache(cache);
            }
            yield last;
            return;
          }
        }
      }
      if (step === maxNew) break;
      T.noGrad(() => T.scope(() => decodeStep(model, cache, state, { ...o, step })));
      // Submit each step, so the GPU runs it while the next one is recorded.
      T.gpu().flush();
    }
    if (pending && !rows.every((r) => r.finished)) {
      const last = pending;
      pending = null;
      yield await absorb(last); // at maxNewTokens: every row ends here
    }
  } finally {
    // Settle a read still in flight (an early return), so its failure is never unhandled.
    await pending?.read.catch(() => {});
    if (!kept) cache.release();
    state.release();
  }
}

/**
 * Read-backs after steps 1, 2, 4, ... below `chunk`, then every `chunk` steps: the first text of
 * a reply shows after one decode step, not after two whole chunks (each read is taken one read
 * point late, so that it overlaps the GPU's next steps).
 */
export function isReadPoint(step: number, chunk: number): boolean {
  return step < chunk ? (step & (step - 1)) === 0 : step % chunk === 0;
}

/** Checks what generateChunks() checks before it starts (the batcher checks each request alone). */
export function checkOptions(
  model: Decoder,
  prompts: readonly (readonly number[])[],
  opts: GenerateOptions,
) {
  const maxNew = opts.maxNewTokens, chunk = opts.chunk ?? 8;
  if (!Number.isInteger(maxNew) || maxNew < 1) {
    throw new RangeError(
      `Cannot generate ${maxNew} new tokens: expected an integer maxNewTokens >= 1`,
    );
  }
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`Cannot read back every ${chunk} steps: expected an integer >= 1`);
  }
  if (!prompts.length || prompts.some((r) => !r.length)) {
    throw new RangeError(
      `Cannot generate from ${prompts.length} prompts with lengths [${
        prompts.map((r) => r.length)
      }]: every prompt needs a token`,
    );
  }
  const v = model.cfg.vocabSize;
  for (const r of prompts) {
    const bad = r.find((id) => !Number.isInteger(id) || id < 0 || id >= v);
    if (bad !== undefined) {
      throw new RangeError(`Cannot generate from token id ${bad}: the vocabulary has ${v} ids`);
    }
  }
  const longest = Math.max(...prompts.map((r) => r.length));
  if (model.cfg.learnedPositions && longest + maxNew > model.cfg.maxPositions) {
    throw new RangeError(
      `Cannot generate ${maxNew} tokens after a prompt of ${longest}: the model has ${model.cfg.maxPositions} learned positions`,
    );
  }
  const stops = [...(opts.stopStrings ?? [])].filter((s) => s.length > 0);
  if (stops.length && !opts.tokenizer) {
    throw new TypeError("Cannot check stop strings without a tokenizer: pass `tokenizer`");
  }
  return { maxNew, chunk, stops };
}

/**
 * Length of the shortest prefix of `tokens` whose text (EOS excluded) contains a stop string, or
 * -1 when the text has none.
 */
export function stopCut(
  tok: TextDecoding,
  tokens: number[],
  stops: readonly string[],
  eos: ReadonlySet<number>,
): number {
  const text = (n: number) => tok.decode(tokens.slice(0, n).filter((id) => !eos.has(id)));
  if (findStop(text(tokens.length), stops) < 0) return -1;
  let lo = 0, hi = tokens.length; // text(lo) has no stop, text(hi) has one
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (findStop(text(mid), stops) >= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}
