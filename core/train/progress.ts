// The terminal progress bar: redrawn in place on stderr at each logging step (the only moments
// the trainer has fresh numbers without an extra GPU read-back); one plain line per update when
// stderr is not a terminal (CI logs, pipes). parseProgressLine reads that plain line back (the
// board turns a child's lines into its progress bar), so format and parser live together.

import { formatDuration } from "./log.ts";

export interface ProgressOptions {
  total: number;
  /** Draw nothing (default true: draw). */
  enabled?: boolean;
  /** Redraw in place; defaults to whether stderr is a terminal. */
  tty?: boolean;
  /** Where text goes; defaults to stderr. */
  write?: (text: string) => void;
  /** Line width in a terminal; defaults to the console's. */
  columns?: number;
}

export interface ProgressUpdate {
  step: number;
  epoch?: number;
  loss?: number;
  lr?: number;
  elapsedS: number;
  remainingS: number;
  tokensPerS?: number;
}

const EIGHTHS = " ▏▎▍▌▋▊▉█";

export class ProgressBar {
  readonly #total: number;
  readonly #enabled: boolean;
  readonly #tty: boolean;
  readonly #write: (text: string) => void;
  readonly #columns?: number;
  #drawn = false;

  constructor(opts: ProgressOptions) {
    this.#total = opts.total;
    this.#enabled = opts.enabled ?? true;
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
    this.#write = opts.write ?? writeStderr;
    this.#columns = opts.columns;
  }

  update(u: ProgressUpdate): void {
    if (!this.#enabled) return;
    const pct = this.#total ? (100 * u.step) / this.#total : 100;
    const stats = [
      u.loss !== undefined ? `loss ${u.loss.toFixed(4)}` : "",
      u.lr !== undefined ? `lr ${u.lr.toExponential(2)}` : "",
      u.epoch !== undefined ? `epoch ${u.epoch.toFixed(2)}` : "",
      u.tokensPerS !== undefined ? `${formatRate(u.tokensPerS)} tok/s` : "",
    ].filter(Boolean).join(", ");
    const times = `${formatDuration(u.elapsedS)}<${formatDuration(u.remainingS)}`;
    if (!this.#tty) {
      this.#write(
        `[${u.step}/${this.#total} ${pct.toFixed(1)}%] ${stats ? stats + " " : ""}[${times}]\n`,
      );
      return;
    }
    const left = `${pct.toFixed(0).padStart(3)}%|`;
    const right = `| ${u.step}/${this.#total} [${times}${stats ? ", " + stats : ""}]`;
    const columns = this.#columns ?? consoleColumns();
    const width = Math.max(10, columns - left.length - right.length - 1);
    this.#write(`\r${left}${bar(u.step / Math.max(1, this.#total), width)}${right}\x1b[K`);
    this.#drawn = true;
  }

  /** A message on its own line (the bar is redrawn at the next update). */
  message(text: string): void {
    if (!this.#enabled) return;
    this.#write(`${this.#drawn ? "\r\x1b[K" : ""}${text}\n`);
    this.#drawn = false;
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#drawn) this.#write("\n");
    this.#drawn = false;
  }
}

/** What a plain (non-terminal) progress line holds; durations as formatDuration wrote them. */
export interface ProgressLine {
  step: number;
  total: number;
  percentage: number;
  elapsed: string;
  remaining: string;
  loss?: number;
  lr?: number;
  epoch?: number;
}

// `[step/total pct%] stats [elapsed<remaining]`, as ProgressBar.update writes it without a TTY.
const LINE = /^\[(\d+)\/(\d+) (\d+(?:\.\d+)?)%\] (.*?) ?\[([^<\[\]]+)<([^<\[\]]+)\]$/;

/** The fields of a plain progress line, or null when `line` is not one. */
export function parseProgressLine(line: string): ProgressLine | null {
  const m = LINE.exec(line.trim());
  if (!m) return null;
  const out: ProgressLine = {
    step: Number(m[1]),
    total: Number(m[2]),
    percentage: Number(m[3]),
    elapsed: m[5],
    remaining: m[6],
  };
  for (const part of m[4].split(", ")) {
    const [key, value] = part.split(" ");
    if (key === "loss" || key === "lr" || key === "epoch") out[key] = Number(value);
  }
  return out;
}

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction)) * width;
  const full = Math.floor(f), part = Math.floor((f - full) * 8);
  const s = "█".repeat(full) + (full < width ? EIGHTHS[part] : "");
  return s.padEnd(width, " ");
}

function formatRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}

const encoder = new TextEncoder();
function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let at = 0;
  while (at < bytes.length) at += Deno.stderr.writeSync(bytes.subarray(at));
}
