// The shapes the server sends (board/runs.ts, board/run_result.ts), as the client reads them.

export type RunKind = "train" | "eval" | "predict" | "export";

export interface LogEntry {
  current_steps: number;
  total_steps: number;
  loss?: number;
  percentage?: number;
  elapsed_time?: string;
  remaining_time?: string;
}

export interface RunResult {
  path: string;
  metrics?: Record<string, number>;
}

export interface RunState {
  status: "idle" | "running" | "aborting";
  id: number;
  kind?: RunKind;
  logs: LogEntry[];
  output: string[];
  error?: string;
  exitCode?: number;
  aborted?: boolean;
  result?: RunResult;
}

/** What a tab shows of the run: the server's status, or how its last run ended. */
export type ViewStatus = "idle" | "running" | "aborting" | "done" | "failed";
