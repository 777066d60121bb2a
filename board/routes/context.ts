// What the board's route groups share.
import type { Registries } from "../../core/plugins.ts";
import type { RunManager } from "../runs.ts";

export interface BoardContext {
  /** Working folder holding data/, models/, saves/ (relative paths resolve against it). */
  readonly root: string;
  readonly registries: Registries;
  readonly runs: RunManager;
}
