// The board's child processes: one `cli.ts train|eval|export` at a time, whatever its kind, its
// progress as events (training's trainer_log.jsonl tailed, the other kinds' progress lines
// parsed), its output kept for the page and for errors, and its results (metrics, the folder
// written) read when it ends. The state lives here, not in the page, so a reloaded page
// reattaches to the run in progress.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KIND_SPECS, type RunKind } from "./run_config.ts";
import { type LogEntry, LogTail } from "./log_tail.ts";
import { readResult, type RunResult } from "./run_result.ts";
import { parseProgressLine } from "../core/train/progress.ts";

export type { LogEntry, RunKind, RunResult };

export type RunStatus = "idle" | "running" | "aborting";

export interface RunState {
  readonly status: RunStatus;
  /** Counts runs started by this server (0: none yet). */
  readonly id: number;
  /** What the current (or last) run does. */
  readonly kind?: RunKind;
  readonly yaml?: string;
  /** The folder the run writes (absolute). */
  readonly outputDir?: string;
  readonly logs: readonly LogEntry[];
  /** The last lines the child wrote (progress, notes, errors). */
  readonly output: readonly string[];
  readonly error?: string;
  readonly exitCode?: number;
  readonly aborted?: boolean;
  /** What a successful run produced. */
  readonly result?: RunResult;
}

export type RunEvent =
  | { readonly type: "state"; readonly state: RunState }
  | { readonly type: "progress"; readonly entry: LogEntry }
  | { readonly type: "output"; readonly line: string };

export interface RunManagerOptions {
  /** Working folder of the child (relative paths in the YAML resolve against it). */
  readonly root: string;
  /** How often trainer_log.jsonl is read, in ms. */
  readonly pollMs?: number;
}

export interface StartOptions {
  /** The folder the run writes (absolute): output_dir, save_dir or export_dir. */
  readonly outputDir: string;
  readonly kind?: RunKind;
}

const OUTPUT_LINES = 200;
const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));
const NAMES: Readonly<Record<RunKind, string>> = {
  train: "Training",
  eval: "Evaluation",
  predict: "Prediction",
  export: "Export",
};

export class RunManager {
  #root: string;
  #pollMs: number;
  #state: RunState = { status: "idle", id: 0, logs: [], output: [] };
  #listeners = new Set<(e: RunEvent) => void>();
  #child?: Deno.ChildProcess;
  #done: Promise<void> = Promise.resolve();

  constructor(opts: RunManagerOptions) {
    this.#root = opts.root;
    this.#pollMs = opts.pollMs ?? 250;
  }

  get state(): RunState {
    return this.#state;
  }

  /** Calls `fn` with every event until the returned function is called. */
  subscribe(fn: (e: RunEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves when the current run (if any) has ended and the state is idle again. */
  wait(): Promise<void> {
    return this.#done;
  }

  /** Starts the `kind` command (default train) of cli.ts on `yaml`. */
  async start(yaml: string, opts: StartOptions): Promise<RunState> {
    const kind = opts.kind ?? "train";
    if (this.#state.status !== "idle") {
      throw new Error(
        `Cannot start ${
          NAMES[kind].toLowerCase()
        }: ${this.#state.kind} run ${this.#state.id} is still ${this.#state.status}`,
      );
    }
    const file = await Deno.makeTempFile({ prefix: "llamaboard_", suffix: ".yaml" });
    await Deno.writeTextFile(file, yaml);
    // NOTE: arguments as an array, never a shell string: values typed in the page reach only YAML.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, CLI, KIND_SPECS[kind].command, file],
      cwd: this.#root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#child = child;
    this.#set({
      status: "running",
      id: this.#state.id + 1,
      kind,
      yaml,
      outputDir: opts.outputDir,
      logs: [],
      output: [],
    });
    this.#done = this.#supervise(child, file);
    return this.#state;
  }

  /** Stops the running child; false when nothing runs. */
  abort(): boolean {
    const child = this.#child;
    if (!child || this.#state.status !== "running") return false;
    this.#set({ ...this.#state, status: "aborting", aborted: true });
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    // A child stuck in a GPU call may ignore SIGTERM.
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 5000);
    child.status.finally(() => clearTimeout(timer));
    return true;
  }

  /** Aborts any run and waits for it to end (server shutdown, tests). */
  async close(): Promise<void> {
    this.abort();
    await this.#done;
    this.#listeners.clear();
  }

  #set(state: RunState): void {
    this.#state = state;
    this.#emit({ type: "state", state });
  }

  #emit(e: RunEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch { /* a broken listener must not stop the run */ }
    }
  }

  async #supervise(child: Deno.ChildProcess, file: string): Promise<void> {
    const { kind = "train", outputDir = this.#root } = this.#state;
    // Only training writes trainer_log.jsonl; the other kinds report through their output.
    const tail = kind === "train"
      ? new LogTail(join(outputDir, "trainer_log.jsonl"), Date.now())
      : null;
    let polling = Promise.resolve();
    const timer = tail && setInterval(() => {
      polling = polling.then(() => this.#poll(tail));
    }, this.#pollMs);
    const readers = [this.#readLines(child.stderr), this.#readLines(child.stdout)];
    const status = await child.status;
    await Promise.all(readers);
    if (timer) clearInterval(timer);
    await polling;
    if (tail) await this.#poll(tail);
    await Deno.remove(file).catch(() => {});
    const s = this.#state;
    const failed = !status.success && !s.aborted;
    let result: RunResult | undefined, error: string | undefined;
    if (failed) error = errorOf(s.output, { code: status.code, signal: status.signal, kind });
    else if (status.success) {
      try {
        result = await readResult(kind, { root: this.#root, outputDir, output: s.output });
      } catch (e) {
        error = `${NAMES[kind]} ended but its results could not be read: ${(e as Error).message}`;
      }
    }
    this.#child = undefined;
    this.#set({
      ...s,
      status: "idle",
      exitCode: status.code,
      ...(error ? { error } : {}),
      ...(result ? { result } : {}),
    });
  }

  async #poll(tail: LogTail): Promise<void> {
    for (const entry of await tail.read()) {
      this.#state = { ...this.#state, logs: [...this.#state.logs, entry] };
      this.#emit({ type: "progress", entry });
    }
  }

  /** A ProgressBar line of eval, predict or export as a progress event (not output). */
  #progressLine(line: string): boolean {
    const p = parseProgressLine(line);
    if (!p) return false;
    const entry: LogEntry = {
      current_steps: p.step,
      total_steps: p.total,
      percentage: p.percentage,
      elapsed_time: p.elapsed,
      remaining_time: p.remaining,
    };
    // Only the latest: the page redraws the bar from it when it reattaches.
    this.#state = { ...this.#state, logs: [entry] };
    this.#emit({ type: "progress", entry });
    return true;
  }

  async #readLines(stream: ReadableStream<Uint8Array>): Promise<void> {
    // NOTE: TextDecoder rather than pipeThrough(TextDecoderStream): the DOM typings of the
    // client (checked together with `deno check board/`) reject the latter.
    const decoder = new TextDecoder();
    let rest = "";
    for await (const bytes of stream) {
      const chunk = decoder.decode(bytes, { stream: true });
      const parts = (rest + chunk).split(/\r\n|\r|\n/);
      rest = parts.pop() ?? "";
      for (const line of parts) this.#line(line);
    }
    if (rest) this.#line(rest);
  }

  #line(raw: string): void {
    // deno-lint-ignore no-control-regex
    const line = raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").trimEnd();
    if (!line || NOISE.test(line)) return;
    if (this.#state.kind !== "train" && this.#progressLine(line)) return;
    const output = [...this.#state.output, line].slice(-OUTPUT_LINES);
    this.#state = { ...this.#state, output };
    this.#emit({ type: "output", line });
  }
}

/** Lines of the GPU driver that say nothing about the run (Mesa's Vulkan loader), left out. */
const NOISE = /XDG_RUNTIME_DIR/;

/** The child's own "Error: ..." line, else Deno's "error: ..." line, else its last lines. */
function errorOf(
  output: readonly string[],
  o: { code: number; signal: Deno.Signal | null; kind: RunKind },
): string {
  const line = output.findLast((l) => l.startsWith("Error: ")) ??
    output.findLast((l) => /^error: /.test(l));
  if (line) return line.replace(/^Error: /, "");
  const why = o.signal
    ? `was killed by ${o.signal}${o.signal === "SIGKILL" ? " (out of memory?)" : ""}`
    : `exited with code ${o.code}`;
  const last = output.slice(-5).join("\n");
  return `${NAMES[o.kind]} ${why}${last ? `: ${last}` : ""}`;
}
