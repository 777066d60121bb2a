// Runs of every kind (train, eval, predict, export) as child processes: the command preview,
// start, abort, the current state, its events over SSE, and saved arguments.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../core/config/mod.ts";
import { loadArgs, saveArgs } from "../args_store.ts";
import { checkPath } from "../paths.ts";
import { checkPaths, KIND_SPECS, RUN_KINDS, runConfig, type RunKind } from "../run_config.ts";
import type { BoardContext } from "./context.ts";

interface RunBody {
  kind?: RunKind;
  values?: Record<string, unknown>;
  /** A YAML typed by hand, instead of values. */
  yaml?: string;
}

function kindOf(kind: unknown): RunKind {
  if (kind === undefined) return "train";
  if (!RUN_KINDS.includes(kind as RunKind)) {
    throw new TypeError(
      `Cannot run "${kind}": expected one of ${RUN_KINDS.map((k) => `"${k}"`).join(", ")}`,
    );
  }
  return kind as RunKind;
}

export function runRoutes(ctx: BoardContext): Hono {
  const { root, registries, runs } = ctx;
  const app = new Hono();
  const plugins = () => ({ template: registries.templates.names() });

  app.post("/api/command", async (c) => {
    const body = await c.req.json<RunBody>();
    const cfg = runConfig(kindOf(body.kind), body.values ?? {}, { root });
    // Validation errors are shown beside the command, not thrown: the YAML may still be edited.
    let error: string | undefined;
    try {
      parseConfig(cfg.yaml, { plugins: plugins() });
    } catch (e) {
      error = (e as Error).message;
    }
    return c.json({ ...cfg, error });
  });

  app.post("/api/runs", async (c) => {
    const body = await c.req.json<RunBody>();
    const kind = kindOf(body.kind);
    let yaml: string, values: Readonly<Record<string, unknown>>;
    if (typeof body.yaml === "string") {
      // A YAML typed by hand goes to the child unvalidated (its errors come back in the state),
      // but its paths are checked here.
      const parsed = parseYaml(body.yaml) as Record<string, unknown> | null;
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new SyntaxError("Cannot start a run: the YAML is not a mapping of keys to values");
      }
      checkPaths(parsed, root);
      yaml = body.yaml;
      values = parsed;
    } else {
      const cfg = runConfig(kind, body.values ?? {}, { root });
      yaml = cfg.yaml;
      values = cfg.values;
    }
    const key = KIND_SPECS[kind].outputKey;
    const out = values[key];
    if (typeof out !== "string" || !out) {
      throw new TypeError(`Cannot start a ${kind} run: "${key}" is not set`);
    }
    const s = runs.state;
    if (s.status !== "idle") {
      return c.json({
        error: `Cannot start a ${kind} run: ${s.kind} run ${s.id} is still ${s.status}`,
      }, 409);
    }
    const state = await runs.start(yaml, { kind, outputDir: checkPath(root, out, { key }) });
    return c.json(state, 202);
  });

  app.get("/api/runs/current", (c) => c.json(runs.state));

  app.post("/api/runs/abort", (c) => c.json({ aborted: runs.abort(), state: runs.state }));

  app.get("/api/runs/events", (c) =>
    streamSSE(c, async (stream) => {
      const queue: { event: string; data: string }[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = runs.subscribe((e) => {
        const data = e.type === "state"
          ? e.state
          : e.type === "progress"
          ? e.entry
          : { line: e.line };
        queue.push({ event: e.type, data: JSON.stringify(data) });
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      // The snapshot first, so a reloaded page redraws the whole run.
      await stream.writeSSE({ event: "state", data: JSON.stringify(runs.state) });
      while (!stream.aborted && !stream.closed) {
        if (!queue.length) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        for (const e of queue.splice(0)) await stream.writeSSE(e);
      }
      unsubscribe();
    }));

  app.post("/api/args/save", async (c) => {
    const body = await c.req.json<
      { path?: string; kind?: RunKind; values?: Record<string, unknown> }
    >();
    const cfg = runConfig(kindOf(body.kind), body.values ?? {}, { root });
    const abs = await saveArgs(root, { path: body.path ?? "", values: cfg.values });
    return c.json({ path: relative(root, abs), yaml: cfg.yaml });
  });

  app.get("/api/args/load", async (c) => {
    const path = c.req.query("path") ?? "";
    // The values' own paths are checked when a run starts, as typed ones are.
    return c.json({ path, values: await loadArgs(root, path) });
  });

  return app;
}
