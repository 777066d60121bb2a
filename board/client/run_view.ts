// A tab's view of the run: its status (data-status for tests, localised text for people), error,
// progress bar, output and start/abort buttons. One child runs at a time across tabs, so a tab
// shows the run only when the run is of its kinds, and is "busy" while another kind runs.
import { $, S, showMessage } from "./dom.ts";
import { onRun } from "./events.ts";
import type { LogEntry, RunKind, RunState, ViewStatus } from "./types.ts";

export interface RunViewOptions {
  /** Id prefix of the status, error, progress and output elements. */
  readonly prefix: string;
  readonly kinds: readonly RunKind[];
  readonly start: string;
  readonly abort: string;
  /** Called with each state of this tab's kinds (results, charts). */
  readonly onState?: (s: RunState, status: ViewStatus) => void;
  readonly onProgress?: (entry: LogEntry) => void;
}

const OUTPUT_LINES = 200;

/** The status a tab shows for `s`. */
export function viewStatus(s: RunState, kinds: readonly RunKind[]): ViewStatus {
  if (!s.id || !s.kind || !kinds.includes(s.kind)) return "idle";
  if (s.status !== "idle") return s.status;
  if (s.error) return "failed";
  if (s.aborted) return "idle";
  return s.exitCode === 0 ? "done" : "idle";
}

export class RunView {
  readonly #o: RunViewOptions;
  #mine = false;

  constructor(o: RunViewOptions) {
    this.#o = o;
    onRun({
      state: (s) => this.#state(s),
      progress: (e) => {
        if (!this.#mine) return;
        this.#progress(e);
        o.onProgress?.(e);
      },
      output: (line) => {
        if (this.#mine) this.#append(line);
      },
    });
  }

  /** Shows an error of this tab (a refused start) without a run. */
  error(msg: string | undefined): void {
    showMessage($(`${this.#o.prefix}-error`), msg);
  }

  #state(s: RunState): void {
    const { prefix, kinds } = this.#o;
    this.#mine = !!s.kind && kinds.includes(s.kind);
    const status = viewStatus(s, kinds);
    const el = $(`${prefix}-status`);
    el.dataset.status = status;
    el.textContent = this.#mine && s.status === "idle" && s.aborted ? S.aborted : S[status];
    const busy = s.status !== "idle";
    ($(this.#o.start) as HTMLButtonElement).disabled = busy;
    ($(this.#o.abort) as HTMLButtonElement).disabled = !(this.#mine && s.status === "running");
    $(`${prefix}-busy`).hidden = !busy || this.#mine;
    if (!this.#mine) return;
    this.error(s.error);
    $(`${prefix}-output`).textContent = s.output.join("\n");
    const bar = $(`${prefix}-progress`) as HTMLProgressElement;
    const last = s.logs.at(-1);
    if (last) this.#progress(last);
    else if (status === "running" || status === "aborting") {
      // No step counts (eval, export): an indeterminate bar while it runs.
      bar.removeAttribute("value");
      $(`${prefix}-progress-text`).textContent = "";
    } else {
      bar.value = status === "done" ? 100 : 0;
      $(`${prefix}-progress-text`).textContent = "";
    }
    this.#o.onState?.(s, status);
  }

  #progress(e: LogEntry): void {
    const bar = $(`${this.#o.prefix}-progress`) as HTMLProgressElement;
    bar.value = e.percentage ?? (100 * e.current_steps) / Math.max(e.total_steps, 1);
    $(`${this.#o.prefix}-progress-text`).textContent = `${e.current_steps}/${e.total_steps}` +
      (e.elapsed_time ? ` ${e.elapsed_time} < ${e.remaining_time ?? ""}` : "");
  }

  #append(line: string): void {
    const out = $(`${this.#o.prefix}-output`);
    const lines = out.textContent ? out.textContent.split("\n") : [];
    lines.push(line);
    out.textContent = lines.slice(-OUTPUT_LINES).join("\n");
    out.scrollTop = out.scrollHeight;
  }
}
