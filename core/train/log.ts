// trainer_log.jsonl as LlamaFactory's LogCallback writes it (train/callbacks.py): one
// `json.dumps(logs)` line per log event with current_steps, total_steps, loss, eval_loss, lr,
// epoch, percentage, elapsed_time, remaining_time, and throughput/total_tokens when tokens are
// counted. Python's number and separator formats are kept so the file reads the same.

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";

export const TRAINER_LOG = "trainer_log.jsonl";

/** One line of trainer_log.jsonl; absent fields are left out, as LlamaFactory drops None. */
export interface TrainerLogLine {
  current_steps: number;
  total_steps: number;
  loss?: number;
  eval_loss?: number;
  /** Mean chosen reward of the preference stages (TRL's rewards/chosen). */
  reward?: number;
  /** Share of pairs whose chosen reward beats the rejected one (rewards/accuracies). */
  accuracy?: number;
  lr?: number;
  epoch?: number;
  percentage: number;
  elapsed_time: string;
  remaining_time: string;
  /** Non-padding tokens per second over this run (LlamaFactory's name, from its token count). */
  throughput?: number;
  /** Non-padding tokens trained on so far, resumed runs included. */
  total_tokens?: number;
}

// LlamaFactory's key order (the dict literal in LogCallback.on_log).
const ORDER: (keyof TrainerLogLine)[] = [
  "current_steps",
  "total_steps",
  "loss",
  "eval_loss",
  "reward",
  "accuracy",
  "lr",
  "epoch",
  "percentage",
  "elapsed_time",
  "remaining_time",
  "throughput",
  "total_tokens",
];
// Python floats there; written "2.0", not "2", and "1e-05", not "0.00001".
const FLOATS = new Set([
  "loss",
  "eval_loss",
  "reward",
  "accuracy",
  "lr",
  "epoch",
  "percentage",
  "throughput",
]);

/** Keys that transformers writes as floats in trainer_state.json and *_results.json. */
export const HF_FLOATS: ReadonlySet<string> = new Set([
  "epoch",
  "loss",
  "grad_norm",
  "learning_rate",
  "eval_loss",
  "eval_runtime",
  "eval_samples_per_second",
  "eval_steps_per_second",
  "train_loss",
  "train_runtime",
  "train_samples_per_second",
  "train_steps_per_second",
  "total_flos",
]);

/** `str(timedelta(seconds=int(s)))`: "H:MM:SS", with "N day(s), " in front past a day. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const days = Math.floor(s / 86400), rest = s % 86400;
  const hms = `${Math.floor(rest / 3600)}:${pad2(Math.floor(rest / 60) % 60)}:${pad2(rest % 60)}`;
  return days ? `${days} day${days === 1 ? "" : "s"}, ${hms}` : hms;
}

/** Python's `repr(float(x))`: shortest round-trip digits, exponent outside [1e-4, 1e16). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, e] = x.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 16) {
    return `${mantissa}e${exp < 0 ? "-" : "+"}${pad2(Math.abs(exp))}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/** Python's `round(x, n)` for logging (half-even ties aside, which floats rarely hit). */
export function pyRound(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * `json.dumps(value)` as Python writes it: ", " and ": " separators (or `indent`), non-ASCII
 * escaped, keys sorted when asked. Numbers whose key is in `floats` print as Python floats;
 * other integers print as ints.
 */
export function pyJson(
  value: unknown,
  opts: { indent?: number; sortKeys?: boolean; floats?: ReadonlySet<string> } = {},
): string {
  const write = (v: unknown, key: string | null, depth: number): string => {
    const nl = opts.indent === undefined ? "" : "\n" + " ".repeat(opts.indent * (depth + 1));
    const end = opts.indent === undefined ? "" : "\n" + " ".repeat(opts.indent * depth);
    const sep = opts.indent === undefined ? ", " : ",";
    if (v === null || v === undefined) return "null";
    if (typeof v === "number") {
      const asFloat = (key !== null && opts.floats?.has(key)) || !Number.isInteger(v);
      return asFloat ? pyFloat(v) : String(v);
    }
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") {
      return JSON.stringify(v).replace(
        /[\u0080-\uffff]/g,
        (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
      );
    }
    if (Array.isArray(v)) {
      if (!v.length) return "[]";
      return `[${nl}${v.map((x) => write(x, key, depth + 1)).join(sep + nl)}${end}]`;
    }
    if (typeof v === "object") {
      let keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (opts.sortKeys) keys = keys.sort();
      if (!keys.length) return "{}";
      const items = keys.map((k) =>
        `${write(k, null, depth)}: ${write((v as Record<string, unknown>)[k], k, depth + 1)}`
      );
      return `{${nl}${items.join(sep + nl)}${end}}`;
    }
    throw new TypeError(`Cannot write a ${typeof v} as JSON`);
  };
  return write(value, null, 0);
}

/** Formats one trainer_log.jsonl line (no newline) in LlamaFactory's key order. */
export function formatLogLine(line: TrainerLogLine): string {
  const ordered: Record<string, unknown> = {};
  for (const k of ORDER) if (line[k] !== undefined && line[k] !== null) ordered[k] = line[k];
  return pyJson(ordered, { floats: FLOATS });
}

/** Appends lines to `<dir>/trainer_log.jsonl`. */
export class TrainerLog {
  readonly path: string;
  constructor(dir: string) {
    this.path = join(dir, TRAINER_LOG);
  }

  async append(line: TrainerLogLine): Promise<void> {
    await Deno.writeTextFile(this.path, formatLogLine(line) + "\n", { append: true });
  }

  /**
   * Keeps only the lines of steps <= `step` (a resumed run continues the file where its
   * checkpoint was taken; a fresh run passes 0 and starts an empty file).
   */
  async truncate(step: number): Promise<void> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    const kept = text.split("\n").filter((l) => {
      if (!l.trim()) return false;
      try {
        return JSON.parse(l).current_steps <= step;
      } catch {
        return false; // a line torn by a crash
      }
    });
    await writeFileAtomic(this.path, kept.map((l) => l + "\n").join(""));
  }

  /** The lines written so far, parsed. */
  async read(): Promise<TrainerLogLine[]> {
    const text = await Deno.readTextFile(this.path);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}
