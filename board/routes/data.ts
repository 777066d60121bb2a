// Read-only look-ups for the forms: a model's template, datasets and their first records,
// evaluation tasks, and the adapters found under saves/.
import { Hono } from "hono";
import { join } from "node:path";
import { PAIRWISE_STAGES } from "../../core/data/loader.ts";
import { catalogue } from "../../plugins/models/catalogue.ts";
import { listAdapters } from "../adapters.ts";
import { checkPath } from "../paths.ts";
import type { BoardContext } from "./context.ts";

export function dataRoutes(ctx: BoardContext): Hono {
  const { root, registries } = ctx;
  const app = new Hono();

  app.get("/api/template", async (c) => {
    const model = c.req.query("model") ?? "";
    const hit = catalogue.find((m) => m.name === model);
    if (hit) return c.json({ template: hit.template, family: hit.family });
    const dir = checkPath(root, model, { key: "model_name_or_path" });
    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    const family = registries.models.get(config.model_type);
    return c.json({ template: family.defaultTemplate, family: family.name });
  });

  app.get("/api/datasets", async (c) => {
    const dir = checkPath(root, c.req.query("dir") ?? "data", { key: "dataset_dir" });
    const info = await datasetInfo(dir), stage = c.req.query("stage");
    // As LlamaBoard's list_datasets: rm and dpo see ranking datasets only, other stages the rest.
    const fits = (name: string) =>
      stage === undefined ||
      ((info[name] as { ranking?: boolean })?.ranking === true) ===
        PAIRWISE_STAGES.includes(stage);
    return c.json({ datasets: Object.keys(info).filter(fits) });
  });

  app.get("/api/datasets/preview", async (c) => {
    const dir = checkPath(root, c.req.query("dir") ?? "data", { key: "dataset_dir" });
    const name = c.req.query("name") ?? "";
    const n = Math.min(Math.max(Number(c.req.query("n") ?? 3) || 3, 1), 20);
    const info = await datasetInfo(dir);
    const entry = info[name] as { file_name?: string } | undefined;
    if (!entry?.file_name) {
      throw new TypeError(
        `Cannot preview dataset "${name}": expected one of ${
          Object.keys(info).map((k) => `"${k}"`).join(", ")
        }`,
      );
    }
    const file = checkPath(root, join(dir, entry.file_name), { key: "file_name" });
    const text = await Deno.readTextFile(file);
    const records = file.endsWith(".jsonl")
      ? text.split("\n").filter((l) => l.trim()).slice(0, n).map((l) => JSON.parse(l))
      : (JSON.parse(text) as unknown[]);
    return c.json({ name, records: records.slice(0, n), total: records.length });
  });

  app.get("/api/tasks", async (c) => {
    const dir = checkPath(root, c.req.query("dir") ?? "evaluation", { key: "task_dir" });
    return c.json({ tasks: await listTasks(dir) });
  });

  app.get("/api/adapters", async (c) => {
    const adapters = await listAdapters(root, {
      model: c.req.query("model") ?? "",
      method: c.req.query("method") ?? "lora",
    });
    return c.json({ adapters });
  });

  return app;
}

async function datasetInfo(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, "dataset_info.json");
  try {
    return JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(`Cannot list datasets in "${dir}": it has no dataset_info.json`);
    }
    throw e;
  }
}

/** Task names (`<folder>_<split>`) of the folders under `dir` holding a mapping.json. */
async function listTasks(dir: string): Promise<string[]> {
  const splits: [string, string][] = [["test", "test"], ["val", "validation"], ["dev", "train"]];
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory) continue;
      const exists = (p: string) => Deno.stat(join(dir, e.name, p)).then(() => true, () => false);
      if (!await exists("mapping.json")) continue;
      for (const [folder, split] of splits) {
        if (await exists(folder)) out.push(`${e.name}_${split}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** Folders under models/ holding a config.json. */
export async function localModels(root: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, "models"))) {
      if (!e.isDirectory) continue;
      try {
        await Deno.stat(join(root, "models", e.name, "config.json"));
        out.push(`models/${e.name}`);
      } catch { /* not a model folder */ }
    }
  } catch { /* no such folder */ }
  return out.sort();
}
