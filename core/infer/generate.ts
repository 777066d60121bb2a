// Generation with a KV cache: one prefill of the left-padded batch, then one decode step per new
// token whose input ids, positions and choice stay on the GPU. The token buffer is read back every
// `chunk` steps (each read-back costs about 11 ms in Deno 2.9; see isReadPoint for the first
// ones), and each read overlaps the GPU work that follows it; EOS ids and stop strings are checked
// on what comes back.

import type { Decoder } from "../model/decoder.ts";
import { KvCache } from "../model/kv_cache.ts";
import * as T from "../tensor/mod.ts";
import {
  DecodeState,
  rowSettings,
  sampleStep,
  samplingDefaults,
  type StepSampling,
} from "./sampling.ts";
import { findStop, type TextDecoding, TextStream } from "./streamer.ts";

type Tensor = T.Tensor;

export interface GenerateOptions extends StepSampling {
  maxNewTokens: number;
  /** Decode steps between read-backs of the token buffer (default 8). */
  chunk?: number;
  /** A row stops once its decoded text contains one of these (needs `tokenizer`). */
  stopStrings?: readonly string[];
  tokenizer?: TextDecoding;
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
  const cache = new KvCache(model.cfg, {
    batch: b,
    maxLen: p + maxNew - 1,
    dtype: model.embed.weight.dtype === "f16" ? "f16" : "f32",
    leftPad: prompts.map((r) => p - r.length),
  });
  const state = new DecodeState({
    vocabSize: model.cfg.vocabSize,
    maxNew,
    context: prompts,
    penalty,
  });
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
  try {
    T.noGrad(() => T.scope(() => prefill(model, prompts, p, cache, state, o)));
    T.gpu().flush();
    for (let step = 1; step <= maxNew; step++) {
      if (isReadPoint(step, chunk) || step === maxNew) {
        const snap = snapshot(step);
        const prev = pending;
        pending = snap;
        if (prev) {
          yield await absorb(prev);
          if (rows.every((r) => r.finished)) break;
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
    cache.release();
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

/** Runs the left-padded prompts through the model, filling the cache, and picks token 0. */
function prefill(
  model: Decoder,
  prompts: number[][],
  p: number,
  cache: KvCache,
  state: DecodeState,
  o: StepSampling & { padTokenId: number },
): void {
  const b = prompts.length;
  const ids = new Int32Array(b * p).fill(o.padTokenId);
  const mask = new Int32Array(b * p);
  const pos = new Int32Array(b * p);
  prompts.forEach((row, r) => {
    const pad = p - row.length;
    ids.set(row, r * p + pad);
    mask.fill(1, r * p + pad, (r + 1) * p);
    // transformers: position_ids = cumsum(mask) - 1, padding at a harmless value.
    for (let j = 0; j < row.length; j++) pos[r * p + pad + j] = j;
  });
  const h = model.hidden(T.tensor(ids, [b, p], { dtype: "i32" }), {
    positions: T.tensor(pos, [b, p], { dtype: "i32" }),
    keyMask: T.tensor(mask, [b, p], { dtype: "i32" }),
    cache,
  });
  // Left padding puts every row's last prompt token in the last column.
  sampleStep(lastLogits(model, T.slice(h, 1, p - 1, p)), state, { ...o, step: 0 });
}

function decodeStep(
  model: Decoder,
  cache: KvCache,
  state: DecodeState,
  o: StepSampling & { step: number },
): void {
  const h = model.hidden(state.next, { positions: state.positions, cache });
  sampleStep(lastLogits(model, h), state, o);
}

/** f32 logits [B, V] for hidden states [B, 1, H]. */
function lastLogits(model: Decoder, h: Tensor): Tensor {
  const y = model.logits(h);
  const flat = T.reshape(y, [y.shape[0], y.shape[2]]);
  return flat.dtype === "f32" ? flat : T.cast(flat, "f32");
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
