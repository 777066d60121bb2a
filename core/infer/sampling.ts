// Token choice on the GPU: the decoding state (token buffer, next input ids, positions, finished
// flags, the context set for the repetition penalty, each row's sampling settings) and one
// dispatch of the sample kernel per step. Nothing here reads back.

import { sample } from "../../kernels/mod.ts";
import * as T from "../tensor/mod.ts";
import { Params } from "../tensor/ops/_util.ts";

type Tensor = T.Tensor;

const MAX_EOS = 8;

/** transformers' names and defaults, camel-cased. */
export interface SamplingOptions {
  /** Draw from the distribution (true) or take the argmax (false, default). */
  doSample?: boolean;
  /** Divides the logits before sampling (default 1; ignored by greedy). */
  temperature?: number;
  /** Keep the k most likely tokens (0 = off, the default here). */
  topK?: number;
  /** Keep the smallest set of top tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** transformers' rule: a token in the context has a positive logit divided, a negative one multiplied (1 = off). */
  repetitionPenalty?: number;
  /** A row stops after one of these (it then produces `padTokenId`). At most 8. */
  eosTokenIds?: readonly number[];
  padTokenId?: number;
  /** Seed of the draws: the same seed gives the same tokens (default 0). */
  seed?: number;
}

/**
 * One row's own settings in a batch (rows with different settings share one dispatch); an unset
 * field takes the batch's value. EOS ids and the pad id stay shared.
 */
export interface RowSampling extends
  Pick<
    SamplingOptions,
    "doSample" | "temperature" | "topK" | "topP" | "repetitionPenalty" | "seed"
  > {
  /**
   * Which stream of `seed` the row draws from (default: its row index). A caller that fixes it
   * makes the row's draws independent of its place in the batch and of its batch-mates.
   */
  stream?: number;
  /**
   * The row's token index at step 0 (default 0): a row resumed in a new batch with the tokens it
   * already made in its prompt keeps drawing as it would have in its first batch.
   */
  firstStep?: number;
}

/** Shared settings plus optional per-row ones. */
export interface StepSampling extends SamplingOptions {
  /** Each row's own settings over the shared ones (one per row of the batch). */
  rows?: readonly RowSampling[];
}

type RowSettings = Required<RowSampling>;

/** Words per row in the kernel's settings buffer. */
const ROW_WORDS = 8;

export interface DecodeStateOptions {
  vocabSize: number;
  /** Columns of the token buffer (the most new tokens per row). */
  maxNew: number;
  /** Tokens already in each row's context, for the repetition penalty (unused when it is 1). */
  context: readonly (readonly number[])[];
  /** Position of each row's last context token: the first new token gets the next one. */
  lastPositions?: readonly number[];
  /** Keep the context set on the GPU (needed when the repetition penalty is not 1). */
  penalty?: boolean;
  /**
   * Each row's token 0, already chosen (a batch resumed with its cache): it is the last token of
   * the row's context, the next input at the position of that token; `done` flags EOS rows.
   */
  pending?: { tokens: readonly number[]; done: readonly boolean[] };
}

/** GPU buffers one generation advances in place, step after step. */
export class DecodeState {
  readonly batch: number;
  readonly vocabSize: number;
  readonly maxNew: number;
  /** i32 [B, maxNew]: token s of row b at [b, s]; read back in chunks. */
  readonly tokens: Tensor;
  /** i32 [B, 1]: the last token, the next step's input ids. */
  readonly next: Tensor;
  /** i32 [B, 1]: the next input's position. */
  readonly positions: Tensor;
  /** u32 [B]: 1 once a row produced an EOS id. */
  readonly done: Tensor;
  /** u32 [B, V] context set (or a 1-element stand-in without a penalty). */
  readonly seen: Tensor;
  /** u32 [B, 8] settings of each row, uploaded again only when they change. */
  #settings: { words: Uint32Array; t: Tensor } | null = null;

  constructor(opts: DecodeStateOptions) {
    const b = opts.context.length, v = opts.vocabSize, n = opts.maxNew;
    if (b < 1 || !Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `Cannot decode ${n} tokens for ${b} rows: expected at least one row and one token`,
      );
    }
    this.batch = b;
    this.vocabSize = v;
    this.maxNew = n;
    const keep = <X>(x: X) => T.keep(x);
    const pending = opts.pending;
    const first = new Int32Array(b * n);
    pending?.tokens.forEach((id, r) => first[r * n] = id);
    this.tokens = keep(T.tensor(first, [b, n], { dtype: "i32" }));
    const next = pending ? Int32Array.from(pending.tokens) : new Int32Array(b);
    this.next = keep(T.tensor(next, [b, 1], { dtype: "i32" }));
    const last = opts.lastPositions ?? opts.context.map((c) => c.length - 1);
    this.positions = keep(T.tensor(Int32Array.from(last), [b, 1], { dtype: "i32" }));
    const done = Uint32Array.from({ length: b }, (_, r) => pending?.done[r] ? 1 : 0);
    this.done = keep(T.tensor(done, [b], { dtype: "u32" }));
    if (opts.penalty) {
      const seen = new Uint32Array(b * v);
      opts.context.forEach((row, r) => {
        for (const id of row) if (id >= 0 && id < v) seen[r * v + id] = 1;
      });
      this.seen = keep(T.tensor(seen, [b, v], { dtype: "u32" }));
    } else {
      this.seen = keep(T.zeros([1], "u32"));
    }
  }

  /** The settings buffer holding `words` (u32 [B, 8]). */
  settings(words: Uint32Array): Tensor {
    const old = this.#settings;
    if (old && old.words.length === words.length && old.words.every((w, i) => w === words[i])) {
      return old.t;
    }
    old?.t.release();
    const t = T.keep(T.tensor(words, [this.batch, ROW_WORDS], { dtype: "u32" }));
    this.#settings = { words: words.slice(), t };
    return t;
  }

  release(): void {
    for (const t of [this.tokens, this.next, this.positions, this.done, this.seen]) t.release();
    this.#settings?.t.release();
    this.#settings = null;
  }
}

/** Checks sampling options; returns them with defaults filled in. */
export function samplingDefaults(opts: SamplingOptions): Required<SamplingOptions> {
  const o = {
    doSample: opts.doSample ?? false,
    temperature: opts.temperature ?? 1,
    topK: opts.topK ?? 0,
    topP: opts.topP ?? 1,
    repetitionPenalty: opts.repetitionPenalty ?? 1,
    eosTokenIds: opts.eosTokenIds ?? [],
    padTokenId: opts.padTokenId ?? 0,
    seed: opts.seed ?? 0,
  };
  const bad = (what: string, v: unknown, want: string) =>
    new RangeError(`Cannot generate with ${what} ${JSON.stringify(v)}: expected ${want}`);
  if (o.doSample && !(o.temperature > 0 && Number.isFinite(o.temperature))) {
    throw bad("temperature", o.temperature, "a positive number (or doSample: false)");
  }
  if (!Number.isInteger(o.topK) || o.topK < 0) throw bad("topK", o.topK, "an integer >= 0");
  if (!(o.topP > 0 && o.topP <= 1)) throw bad("topP", o.topP, "a number in (0, 1]");
  if (!(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) {
    throw bad("repetitionPenalty", o.repetitionPenalty, "a positive number");
  }
  if (o.eosTokenIds.length > MAX_EOS || o.eosTokenIds.some((e) => !Number.isInteger(e) || e < 0)) {
    throw bad("eosTokenIds", o.eosTokenIds, `at most ${MAX_EOS} non-negative token ids`);
  }
  if (!Number.isInteger(o.padTokenId) || o.padTokenId < 0) {
    throw bad("padTokenId", o.padTokenId, "a non-negative token id");
  }
  if (!Number.isInteger(o.seed)) throw bad("seed", o.seed, "an integer");
  return o;
}

/**
 * Each row's checked settings: its own fields over the shared ones, the stream defaulting to the
 * row index (so uniform settings draw as they always did). Throws before anything runs.
 */
export function rowSettings(opts: StepSampling, batch: number): RowSettings[] {
  const shared = samplingDefaults(opts);
  if (opts.rows && opts.rows.length !== batch) {
    throw new TypeError(
      `Cannot sample with ${opts.rows.length} row settings for a batch of ${batch} rows: expected one per row`,
    );
  }
  return Array.from({ length: batch }, (_, b) => {
    const own = Object.fromEntries(
      Object.entries(opts.rows?.[b] ?? {}).filter(([, x]) => x !== undefined),
    ) as RowSampling;
    const o = Object.keys(own).length ? samplingDefaults({ ...shared, ...own }) : shared;
    const stream = own.stream ?? b, firstStep = own.firstStep ?? 0;
    for (const [k, x] of [["stream", stream], ["firstStep", firstStep]] as const) {
      if (!Number.isInteger(x) || x < 0) {
        throw new RangeError(
          `Cannot generate with ${k} ${JSON.stringify(x)}: expected an integer >= 0`,
        );
      }
    }
    const { doSample, temperature, topK, topP, repetitionPenalty, seed } = o;
    return { doSample, temperature, topK, topP, repetitionPenalty, seed, stream, firstStep };
  });
}

/**
 * The kernel's u32 [B, 8] settings: do_sample, temperature, top_k, top_p, penalty, seed, stream,
 * first step.
 */
function encodeRows(rows: readonly RowSettings[]): Uint32Array {
  const words = new Uint32Array(rows.length * ROW_WORDS);
  const f32 = new Float32Array(words.buffer);
  rows.forEach((r, b) => {
    const at = b * ROW_WORDS;
    words[at] = r.doSample ? 1 : 0;
    f32[at + 1] = r.temperature;
    words[at + 2] = r.topK;
    f32[at + 3] = r.topP;
    f32[at + 4] = r.repetitionPenalty;
    words[at + 5] = r.seed >>> 0;
    words[at + 6] = r.stream >>> 0;
    words[at + 7] = r.firstStep >>> 0;
  });
  return words;
}

/**
 * Picks token `step` of every row from logits [B, V] (f32; overwritten when sampling) and
 * advances `state`: tokens[:, step], next, positions, done and the context set.
 */
export function sampleStep(
  logits: Tensor,
  state: DecodeState,
  opts: { step: number } & StepSampling,
): void {
  const o = samplingDefaults(opts);
  const [b, v] = logits.shape;
  if (logits.rank !== 2 || b !== state.batch || v !== state.vocabSize || logits.dtype !== "f32") {
    throw new TypeError(
      `Cannot sample from logits of shape [${logits.shape}] and dtype ${logits.dtype}: expected f32 [${state.batch}, ${state.vocabSize}]`,
    );
  }
  if (!Number.isInteger(opts.step) || opts.step < 0 || opts.step >= state.maxNew) {
    throw new RangeError(
      `Cannot sample token ${opts.step}: the token buffer holds ${state.maxNew} per row`,
    );
  }
  const rows = rowSettings(opts, state.batch);
  if (rows.some((r) => r.repetitionPenalty !== 1) && state.seen.size !== b * v) {
    throw new TypeError(
      "Cannot apply a repetition penalty: the decode state was made without `penalty: true`",
    );
  }
  const eos = [...o.eosTokenIds];
  const params = new Params()
    .u32(b, v, opts.step, state.maxNew)
    .u32(o.padTokenId, eos.length, 0, 0)
    .vec4u(eos, 2)
    .bytes();
  const settings = state.settings(encodeRows(rows));
  const { tokens, next, positions, done, seen } = state;
  T.gpu().dispatch(sample, {
    params,
    buffers: [logits, seen, tokens, next, positions, done, settings].map((t) => t.buffer("sample")),
    workgroups: T.grid(b),
  });
}
