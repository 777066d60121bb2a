// One EventSource on /api/runs/events for the whole page: the server sends the full state first
// (so a reloaded page redraws a run in progress), then progress, output and state changes.
import type { LogEntry, RunState } from "./types.ts";

export interface RunListener {
  state(s: RunState): void;
  progress(entry: LogEntry): void;
  output(line: string): void;
}

const listeners: RunListener[] = [];
let last: RunState | undefined;

/** Calls `l` with every run event; with the current state at once when one is known. */
export function onRun(l: RunListener): void {
  listeners.push(l);
  if (last) l.state(last);
}

/** The last state received. */
export function currentRun(): RunState | undefined {
  return last;
}

/** Opens the stream; EventSource reconnects by itself and gets a fresh snapshot each time. */
export function connectRuns(): void {
  const events = new EventSource("/api/runs/events");
  events.addEventListener("state", (e) => {
    last = JSON.parse((e as MessageEvent).data);
    for (const l of listeners) l.state(last!);
  });
  events.addEventListener("progress", (e) => {
    const entry = JSON.parse((e as MessageEvent).data) as LogEntry;
    last?.logs.push(entry);
    for (const l of listeners) l.progress(entry);
  });
  events.addEventListener("output", (e) => {
    const { line } = JSON.parse((e as MessageEvent).data) as { line: string };
    for (const l of listeners) l.output(line);
  });
}
