// Batched serving: requests queue up and, whenever the model is free, the waiting rows that share
// EOS and pad ids (at most `maxBatch`) run together as one left-padded batch of generateChunks()
// (a padded row generates what it would alone); each row keeps its own sampling settings (greedy
// or sampled, temperature, top-k, top-p, repetition penalty, seed). Each row streams its own text
// and ends at its own EOS, stop string or token budget, or when it is cancelled.
// Continuous batching at read-back granularity: when requests wait and the running batch has room
// (rows ended, or fewer than maxBatch), the batch stops at its next read-back and a new one starts
// with the rows still going, their KV cache copied over (resume.ts: nothing recomputed), plus the
// waiting rows, prefilled on their own. A resumed row draws from the same (seed, stream, token
// index) as before, so its reply is what it would have been without the refill.

import type { Decoder } from "../model/decoder.ts";
import type { KvCache } from "../model/kv_cache.ts";
import { checkOptions, generateChunks, stopCut } from "./generate.ts";
import { samplingDefaults, type SamplingOptions } from "./sampling.ts";
import { type TextDecoding, TextStream } from "./streamer.ts";

/** Why a row ended: EOS or a stop string, its token budget, or cancelled (its client left). */
export type FinishReason = "stop" | "length" | "abort";

export interface BatchRequest extends SamplingOptions {
  /** Prompt token ids (no padding). */
  prompt: readonly number[];
  maxNewTokens: number;
  /** The row ends just before the first of these in its text. */
  stopStrings?: readonly string[];
  /** Rows (choices) generated from this prompt, drawn differently when sampling (default 1). */
  n?: number;
  /** Aborting it cancels every row of the request. */
  signal?: AbortSignal;
}

/** One row of a request: its text deltas as an async iterable (one consumer), then how it ended. */
export interface BatchRow extends AsyncIterable<string> {
  /** Null until the row has ended. */
  readonly finishReason: FinishReason | null;
  /** Tokens generated so far, EOS included, none past a stop string. */
  readonly completionTokens: number;
  /** The text emitted so far. */
  readonly text: string;
  /** Ends the row now; a waiting row leaves the queue. Leaving the iteration early does it too. */
  cancel(): void;
}

export interface BatcherOptions {
  tokenizer: TextDecoding;
  /** Most rows per batch (default 8). */
  maxBatch?: number;
  /** Decode steps between read-backs, so between text deltas (default 8). */
  chunk?: number;
  /** Seed of the first batch of unseeded sampled rows; later batches count up (default 0). */
  seed?: number;
  /** How long an idle engine waits for more requests before it starts a batch (default 5 ms). */
  gatherMs?: number;
  /**
   * Let waiting requests join a running batch at its read-backs (default true); false: static
   * batches, a request that arrives during one waits for it to end.
   */
  continuous?: boolean;
}

export interface BatcherStats {
  /** Batches started. */
  batches: number;
  /** Rows over all batches (rows / batches is the mean batch size). */
  rows: number;
  /** Rows of the largest batch. */
  maxRows: number;
  /** Times a running batch was restarted to take in waiting rows. */
  refills: number;
  /** Rows of the running batch that have not ended. */
  active: number;
  /** Rows waiting for a batch. */
  waiting: number;
}

type Sampling = Required<SamplingOptions>;

interface RowInit {
  prompt: readonly number[];
  maxNew: number;
  sampling: Sampling;
  /** The row's seed and stream when its request sets a seed, else the batch's seed and row index. */
  seed: number | undefined;
  drawStream: number | undefined;
  /** Rows of one key may share a batch. */
  key: string;
  stops: readonly string[];
  stream: TextStream;
  /** Called once when the row is cancelled (it leaves the queue). */
  onCancel: (row: Row) => void;
  /** Called once when the row has ended, whatever the way. */
  onEnded: (row: Row) => void;
}

class Row implements BatchRow {
  readonly init: RowInit;
  /** Tokens made in earlier batches, but the last one (`pending`). */
  prior: number[] = [];
  /** A resumed row's last token, chosen and not yet fed, and its row in the previous batch. */
  pending: { token: number; slot: number } | null = null;
  /** Seed and stream of its draws, fixed when it is first taken into a batch. */
  draw: { seed: number; stream: number } | null = null;
  finishReason: FinishReason | null = null;
  completionTokens = 0;
  text = "";
  #deltas: string[] = [];
  #failed: { error: unknown } | null = null;
  #wake: (() => void) | null = null;

  constructor(init: RowInit) {
    this.init = init;
  }

  cancel(): void {
    if (this.ended) return;
    this.#deltas.length = 0;
    this.end("abort");
    this.init.onCancel(this);
  }

  get ended(): boolean {
    return this.finishReason !== null || this.#failed !== null;
  }

  push(delta: string, tokens: number): void {
    this.completionTokens = tokens;
    if (!delta) return;
    this.text += delta;
    this.#deltas.push(delta);
    this.#notify();
  }

  end(reason: FinishReason): void {
    if (this.ended) return;
    this.finishReason = reason;
    this.#notify();
    this.init.onEnded(this);
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.#failed = { error };
    this.#notify();
    this.init.onEnded(this);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    try {
      while (true) {
        if (this.#deltas.length) {
          yield this.#deltas.shift()!;
          continue;
        }
        if (this.#failed) throw this.#failed.error;
        if (this.finishReason) return;
        await new Promise<void>((r) => this.#wake = r);
      }
    } finally {
      // A consumer that stops reading early no longer wants the row.
      if (!this.ended) this.cancel();
    }
  }
}

/** Owns a model and runs the requests submitted to it in batches, one batch at a time. */
export class Batcher {
  readonly model: Decoder;
  readonly maxBatch: number;
  readonly #tok: TextDecoding;
  readonly #chunk: number;
  readonly #gatherMs: number;
  readonly #continuous: boolean;
  #seed: number;
  #queue: Row[] = [];
  #running: Row[] = [];
  #loop: Promise<void> | null = null;
  #stats = { batches: 0, rows: 0, maxRows: 0, refills: 0 };

  constructor(model: Decoder, opts: BatcherOptions) {
    const { maxBatch = 8, chunk = 8, gatherMs = 5, seed = 0 } = opts;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`Cannot batch ${maxBatch} rows: expected an integer maxBatch >= 1`);
    }
    if (!Number.isInteger(chunk) || chunk < 1) {
      throw new RangeError(`Cannot read back every ${chunk} steps: expected an integer >= 1`);
    }
    if (!(gatherMs >= 0)) {
      throw new RangeError(`Cannot wait ${gatherMs} ms for a batch: expected a number >= 0`);
    }
    this.model = model;
    this.maxBatch = maxBatch;
    this.#tok = opts.tokenizer;
    this.#chunk = chunk;
    this.#gatherMs = gatherMs;
    this.#continuous = opts.continuous ?? true;
    this.#seed = samplingDefaults({ seed }).seed;
  }

  get stats(): BatcherStats {
    return {
      ...this.#stats,
      active: this.#running.filter((r) => !r.ended).length,
      waiting: this.#queue.length,
    };
  }

  /**
   * Queues `req`'s rows and returns them at once; they stream once their batch runs. Throws
   * (RangeError, TypeError) for a request generateChunks() would refuse, before queueing anything.
   */
  submit(req: BatchRequest): BatchRow[] {
    const n = req.n ?? 1;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`Cannot generate ${n} choices: expected an integer n >= 1`);
    }
    const sampling = samplingDefaults(req);
    const stops = [...(req.stopStrings ?? [])].filter((s) => s.length > 0);
    checkOptions(this.model, [req.prompt], {
      maxNewTokens: req.maxNewTokens,
      chunk: this.#chunk,
      stopStrings: stops,
      tokenizer: this.#tok,
    });
    const signal = req.signal;
    const left = new Set<Row>();
    const abort = () => [...left].forEach((r) => r.cancel());
    const rows = Array.from({ length: n }, (_, i) => {
      // Choice i of a seeded request draws from stream i of its seed, whatever its batch, so it is
      // the same on every run (and choice 0 is what generate() gives with that seed).
      const seeded = sampling.doSample && req.seed !== undefined;
      return new Row({
        prompt: [...req.prompt],
        maxNew: req.maxNewTokens,
        sampling,
        seed: seeded ? sampling.seed : undefined,
        drawStream: seeded ? i : undefined,
        key: groupKey(sampling),
        stops,
        stream: new TextStream(this.#tok, stops),
        onCancel: (r) => this.#dequeue(r),
        onEnded: (r) => {
          left.delete(r);
          // Drop the listener once every row has ended, so a long-lived signal holds no rows.
          if (!left.size) signal?.removeEventListener("abort", abort);
        },
      });
    });
    rows.forEach((r) => left.add(r));
    if (signal?.aborted) abort();
    else signal?.addEventListener("abort", abort, { once: true });
    this.#queue.push(...rows.filter((r) => !r.ended));
    this.#kick();
    return rows;
  }

  /** Resolves once no batch runs and none waits. */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #dequeue(row: Row): void {
    const i = this.#queue.indexOf(row);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  #kick(): void {
    if (this.#loop || !this.#queue.length) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
      this.#kick(); // rows queued while the loop was winding down
    });
  }

  async #run(): Promise<void> {
    // Concurrent requests arrive a few event-loop turns apart: wait for them to share the batch.
    if (this.#gatherMs > 0) await new Promise((r) => setTimeout(r, this.#gatherMs));
    while (this.#queue.length) {
      this.#stats.batches++;
      let rows = this.#take([]), cache: KvCache | null = null;
      while (rows.length) {
        const next = await this.#runBatch(rows, cache);
        if (!next) break;
        this.#stats.refills++;
        rows = this.#take(next.going);
        cache = next.cache;
      }
    }
  }

  /**
   * `base` (rows resuming) plus the oldest waiting row's key-mates, in arrival order, up to
   * maxBatch; `take` removes those from the queue.
   */
  #pick(base: readonly Row[]): Row[] {
    const cfg = this.model.cfg;
    const key = (base[0] ?? this.#queue[0])?.init.key;
    const rows = [...base];
    const need = (r: Row) => ({
      p: r.init.prompt.length + r.prior.length + (r.pending ? 1 : 0),
      m: r.init.maxNew - r.prior.length,
    });
    let longest = Math.max(0, ...base.map((r) => need(r).p));
    let maxNew = Math.max(0, ...base.map((r) => need(r).m));
    for (const r of this.#queue) {
      if (rows.length >= this.maxBatch) break;
      if (r.init.key !== key) continue;
      const p = Math.max(longest, need(r).p), m = Math.max(maxNew, need(r).m);
      // Padding shifts no positions, but a short row decodes until the batch's budget ends.
      if (rows.length && cfg.learnedPositions && p + m > cfg.maxPositions) continue;
      rows.push(r);
      longest = p;
      maxNew = m;
    }
    return rows;
  }

  #take(base: readonly Row[]): Row[] {
    const rows = this.#pick(base), added = rows.slice(base.length);
    this.#queue = this.#queue.filter((r) => !added.includes(r));
    // Unseeded rows taken together draw from a fresh seed, stream = their index among them.
    const seed = added.every((r) => r.init.seed !== undefined) ? 0 : this.#seed++;
    added.forEach((r, i) => {
      r.draw = { seed: r.init.seed ?? seed, stream: r.init.drawStream ?? i };
    });
    const s = this.#stats;
    s.rows += added.length;
    s.maxRows = Math.max(s.maxRows, rows.length);
    return rows;
  }

  /**
   * Whether waiting rows can join `going` and it pays: a refill delays every row going by about
   * a chunk of steps (the GPU queue drains, the new rows' prefill and read-backs), and spares each
   * joining row the steps the batch has left. Rows only join behind the oldest waiting row's key.
   */
  #canRefill(going: readonly Row[]): boolean {
    const head = this.#queue[0];
    // NOTE: not with learned positions: a resumed row decodes padding past its own budget (to the
    // batch's), which could run beyond the position table; static batches are sized to avoid it.
    if (!this.#continuous || this.model.cfg.learnedPositions) return false;
    if (!going.length || going.length >= this.maxBatch) return false;
    if (head === undefined || head.init.key !== going[0].init.key) return false;
    const joining = this.#pick(going).length - going.length;
    const left = Math.max(0, ...going.map((r) => r.init.maxNew - r.completionTokens));
    return joining > 0 && joining * left >= going.length * this.#chunk;
  }

  /**
   * Runs `rows` (resumed ones from `carried`, the previous batch's cache) until every one has
   * ended (returns null) or until waiting rows can join: then it returns the rows still going,
   * their last token pending, and the cache that holds them.
   */
  async #runBatch(
    rows: Row[],
    carried: KvCache | null,
  ): Promise<{ going: Row[]; cache: KvCache } | null> {
    this.#running = rows;
    const o = rows[0].init.sampling;
    const eos = new Set(o.eosTokenIds);
    let refill = false, kept: KvCache | null = null;
    try {
      const prompts = rows.map((r) => [
        ...r.init.prompt,
        ...r.prior,
        ...(r.pending ? [r.pending.token] : []),
      ]);
      const chunks = generateChunks(this.model, prompts, {
        eosTokenIds: o.eosTokenIds,
        padTokenId: o.padTokenId,
        rows: rows.map(({ init: { sampling: s }, draw, prior }) => ({
          doSample: s.doSample,
          temperature: s.temperature,
          topK: s.topK,
          topP: s.topP,
          repetitionPenalty: s.repetitionPenalty,
          seed: draw!.seed,
          stream: draw!.stream,
          firstStep: prior.length,
        })),
        maxNewTokens: Math.max(...rows.map((r) => r.init.maxNew - r.prior.length)),
        chunk: this.#chunk,
        resume: carried
          ? { cache: carried, from: rows.map((r) => r.pending?.slot ?? null) }
          : undefined,
        // Stopping for a refill takes the steps already on the GPU as a last chunk: none is lost.
        stopEarly: () => refill = this.#canRefill(rows.filter((r) => !r.ended)),
        keepCache: (c) => kept = c,
      });
      carried = null; // generateChunks owns it now
      // Leaving the loop closes the generator, which stops the GPU work and frees the cache.
      let last: number[][] = [];
      for await (const c of chunks) {
        rows.forEach((r, i) => r.ended || this.#absorb(r, [...r.prior, ...c.tokens[i]], eos));
        last = c.tokens;
        if (rows.every((r) => r.ended)) return null;
      }
      const going = rows.filter((r) => !r.ended);
      if (refill && going.length && kept) {
        for (const r of going) {
          const slot = rows.indexOf(r), tokens = [...r.prior, ...last[slot]];
          r.pending = { token: tokens.pop()!, slot };
          r.prior = tokens;
        }
        const cache: KvCache = kept;
        kept = null;
        return { going, cache };
      }
      for (const r of rows) r.end("length"); // unreachable unless generateChunks changes
    } catch (e) {
      for (const r of rows) r.fail(e);
    } finally {
      this.#running = [];
      (carried as KvCache | null)?.release();
      (kept as KvCache | null)?.release();
    }
    return null;
  }

  /** Takes a row's tokens so far (ending with EOS once it produced one) and emits its new text. */
  #absorb(row: Row, ids: number[], eos: ReadonlySet<number>): void {
    let tokens = ids.length > row.init.maxNew ? ids.slice(0, row.init.maxNew) : ids;
    let reason: FinishReason | null = null;
    let body = tokens;
    if (tokens.length && eos.has(tokens[tokens.length - 1])) {
      body = tokens.slice(0, -1);
      reason = "stop";
    }
    if (row.init.stops.length) {
      const cut = stopCut(this.#tok, body, row.init.stops, eos);
      if (cut >= 0) {
        body = tokens = body.slice(0, cut);
        reason = "stop";
      }
    }
    if (!reason && tokens.length >= row.init.maxNew) reason = "length";
    row.push(row.init.stream.push(body, reason !== null), tokens.length);
    if (reason) row.end(reason);
  }
}

/**
 * Rows batch together when the settings the sample kernel shares across a batch agree: EOS and
 * pad ids (every other setting is per row).
 */
function groupKey(o: Sampling): string {
  return JSON.stringify([[...o.eosTokenIds], o.padTokenId]);
}
