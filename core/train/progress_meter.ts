// Turns `onProgress(done, total)` calls of long work (eval, predict, export) into ProgressBar
// updates with elapsed time and ETA. Throttled: a terminal is redrawn at most every
// `minIntervalMs`; without one (CI logs, the board's pipe) a line is written only when another
// 1/maxLines of the work is done, so a run writes at most maxLines + 1 lines, the last always.

import { ProgressBar, type ProgressOptions } from "./progress.ts";

export interface MeterOptions extends Omit<ProgressOptions, "total"> {
  /** Plain lines per run at most, besides the first (default 50). */
  maxLines?: number;
  /** Least time between two redraws in a terminal, ms (default 100). */
  minIntervalMs?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
}

export class ProgressMeter {
  readonly #opts: MeterOptions;
  readonly #tty: boolean;
  readonly #maxLines: number;
  readonly #minIntervalMs: number;
  readonly #now: () => number;
  #bar?: ProgressBar;
  #total = -1;
  #start?: number;
  #lastDraw = -Infinity;
  #bucket = -1;
  #lastDone = -1;

  constructor(opts: MeterOptions = {}) {
    this.#opts = opts;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#maxLines = Math.max(1, opts.maxLines ?? 50);
    this.#minIntervalMs = opts.minIntervalMs ?? 100;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Reports `done` of `total` units; pass it as the work's `onProgress`. */
  readonly onProgress = (done: number, total: number): void => {
    const now = this.#now();
    this.#start ??= now;
    if (total !== this.#total) {
      this.#bar?.finish();
      this.#bar = new ProgressBar({ ...this.#opts, total, tty: this.#tty });
      this.#total = total;
      this.#bucket = -1;
      this.#lastDone = -1;
      this.#lastDraw = -Infinity;
    }
    const final = done >= total;
    if (done === this.#lastDone) return;
    if (this.#tty) {
      if (!final && now - this.#lastDraw < this.#minIntervalMs) return;
    } else {
      const bucket = total > 0 ? Math.floor((done * this.#maxLines) / total) : this.#maxLines;
      if (!final && bucket <= this.#bucket) return;
      this.#bucket = bucket;
    }
    this.#lastDraw = now;
    this.#lastDone = done;
    const elapsedS = (now - this.#start) / 1000;
    // Unknown before the first unit is done: shown as 0 rather than a guess.
    const remainingS = done > 0 ? (elapsedS * Math.max(0, total - done)) / done : 0;
    this.#bar!.update({ step: done, elapsedS, remainingS });
  };

  /** Ends the bar's line in a terminal. */
  finish(): void {
    this.#bar?.finish();
  }
}
