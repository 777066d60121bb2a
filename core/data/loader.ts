// Loads datasets named in dataset_info.json from local json, jsonl, csv and txt files (or
// folders of them), converts each record with its format plugin, then samples, mixes and
// splits them the way LlamaFactory's data/loader.py does.
import type { Registry } from "../registry.ts";
import { closest } from "../registry.ts";
import {
  type DatasetAttr,
  datasetAttr,
  type DatasetFormat,
  type Example,
  readDatasetInfo,
} from "./dataset_info.ts";
import { mixDatasets, type MixStrategy, sampleItems, splitTrainEval } from "./mix.ts";

export interface RawRecord {
  readonly record: Readonly<Record<string, unknown>>;
  /** Where it came from, for messages: `data/x.jsonl line 7`, `data/x.json record [3]`. */
  readonly where: string;
}

export interface LoadOptions {
  /** Format plugins by name (plugins/formats/mod.ts lists the built-ins). */
  readonly formats: Registry<DatasetFormat>;
  /** Folder holding dataset_info.json (LlamaFactory's dataset_dir). */
  readonly datasetDir?: string;
  /** Split to load when an entry names none; local files hold only "train". */
  readonly split?: string;
  /** Keep the first `maxSamples` records of each dataset. */
  readonly maxSamples?: number;
  readonly mixStrategy?: MixStrategy;
  readonly interleaveProbs?: readonly number[];
  readonly seed?: number;
  /** Hold out a share (< 1) or count (>= 1) of the mixed training set for evaluation. */
  readonly valSize?: number;
  /** Datasets mixed into the evaluation set (LlamaFactory's eval_dataset; excludes valSize). */
  readonly evalNames?: readonly string[];
  /** When given, checks each dataset suits the stage: rm and dpo need ranking datasets. */
  readonly stage?: string;
}

export interface LoadedDatasets {
  readonly train: Example[];
  readonly eval?: Example[];
  /** One line per dataset with skipped examples (counts and reasons). */
  readonly warnings: string[];
}

const TYPES: Record<string, string> = { json: "json", jsonl: "json", csv: "csv", txt: "text" };

function ext(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return base.includes(".") ? base.slice(base.lastIndexOf(".") + 1).toLowerCase() : "";
}

/** Reads every record of a json (array or JSON Lines), jsonl, csv or txt file, or a folder of them. */
export async function readRecords(path: string): Promise<RawRecord[]> {
  const stat = await Deno.stat(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read ${path}: it does not exist`);
    }
    throw e;
  });
  const files = stat.isDirectory ? await listFolder(path) : [path];
  const out: RawRecord[] = [];
  for (const f of files) out.push(...await readFile(f));
  return out;
}

async function listFolder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && !e.name.startsWith(".")) files.push(`${dir}/${e.name}`);
  }
  files.sort();
  if (files.length === 0) {
    throw new RangeError(`Cannot read ${dir}: the folder holds no data files`);
  }
  const types = new Set(files.map((f) => TYPES[ext(f)] ?? ext(f)));
  if (types.size > 1) {
    throw new TypeError(
      `Cannot read ${dir}: its files must share one type, got ${
        files.map((f) => f.slice(dir.length + 1)).join(", ")
      }`,
    );
  }
  return files;
}

async function readFile(path: string): Promise<RawRecord[]> {
  const kind = ext(path);
  if (kind === "parquet" || kind === "arrow") {
    throw new TypeError(
      `Cannot read ${path}: ${kind} files are not supported yet; convert it to json or jsonl`,
    );
  }
  if (!(kind in TYPES)) {
    throw new TypeError(`Cannot read ${path}: expected a .json, .jsonl, .csv or .txt file`);
  }
  const text = await Deno.readTextFile(path);
  if (text.trim() === "") throw new RangeError(`Cannot read ${path}: the file is empty`);
  if (kind === "csv") return readCsv(text, path);
  if (kind === "txt") {
    // The `text` loader of Hugging Face datasets: one record per line, blank lines included.
    const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
    return lines.map((l, i) => ({ record: { text: l }, where: `${path} line ${i + 1}` }));
  }
  if (kind === "json") {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      // Like Hugging Face's json loader, a .json file may hold JSON Lines.
      if (text.trimStart().startsWith("{") && text.trim().includes("\n")) {
        return readJsonl(text, path);
      }
      throw new SyntaxError(`Cannot parse ${path}: ${(e as Error).message}`);
    }
    if (!Array.isArray(data)) {
      throw new TypeError(`Cannot read ${path}: expected an array of records, got ${typeof data}`);
    }
    return data.map((r, i) => record(r, `${path} record [${i}]`));
  }
  return readJsonl(text, path);
}

function record(r: unknown, where: string): RawRecord {
  if (typeof r !== "object" || r === null || Array.isArray(r)) {
    throw new TypeError(
      `Cannot read ${where}: expected an object, got ${Array.isArray(r) ? "a list" : String(r)}`,
    );
  }
  return { record: r as Record<string, unknown>, where };
}

function readJsonl(text: string, path: string): RawRecord[] {
  const out: RawRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(`Cannot parse ${path} line ${i + 1}: ${(e as Error).message}`);
    }
    out.push(record(r, `${path} line ${i + 1}`));
  });
  return out;
}

/** Splits RFC 4180 CSV into rows of fields, each with the line it starts on. */
function csvRows(text: string, path: string): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  let fields: string[] = [], field = "", quoted = false, line = 1, start = 1;
  const endRow = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== "") rows.push({ fields, line: start });
    fields = [];
    field = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") line++;
    if (quoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') field += text[++i]; // "" is an escaped quote
      else quoted = false;
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") continue; // the \n ends the row
      endRow();
      start = ch === "\r" ? ++line : line; // a lone \r (old Mac files) ends a line too
    } else {
      field += ch;
    }
  }
  if (quoted) {
    throw new SyntaxError(`Cannot parse ${path} line ${start}: a quoted field is not closed`);
  }
  if (field !== "" || fields.length > 0) endRow();
  return rows;
}

/** A CSV file with a header row; every value is a string, as in a pandas-free reading. */
function readCsv(text: string, path: string): RawRecord[] {
  const [header, ...body] = csvRows(text, path);
  return body.map(({ fields, line }) => {
    if (fields.length !== header.fields.length) {
      throw new SyntaxError(
        `Cannot parse ${path} line ${line}: expected ${header.fields.length} fields, got ${fields.length}`,
      );
    }
    const r = Object.fromEntries(header.fields.map((h, k) => [h, fields[k]]));
    return { record: r, where: `${path} line ${line}` };
  });
}

function checkFormat(attr: DatasetAttr, formats: Registry<DatasetFormat>): DatasetFormat {
  if (formats.has(attr.formatting)) return formats.get(attr.formatting);
  const hint = closest(attr.formatting, formats.names());
  throw new RangeError(
    `Invalid dataset "${attr.name}" in ${attr.infoPath}: unknown formatting "${attr.formatting}": ` +
      `expected one of ${formats.names().map((n) => `"${n}"`).join(", ")}` +
      (hint ? ` (did you mean "${hint}"?)` : ""),
  );
}

/** Stages that train on ranking (chosen/rejected) datasets. */
export const PAIRWISE_STAGES: readonly string[] = ["rm", "dpo"];

/** Loads one dataset: read, num_samples, max_samples, then convert (LlamaFactory's order). */
export async function loadDataset(
  attr: DatasetAttr,
  opts: LoadOptions,
): Promise<{ examples: Example[]; warning?: string }> {
  const format = checkFormat(attr, opts.formats);
  if (opts.stage !== undefined && PAIRWISE_STAGES.includes(opts.stage) !== attr.ranking) {
    throw new TypeError(
      `Cannot use dataset "${attr.name}" in stage ${opts.stage}: ` +
        (attr.ranking
          ? "it is a ranking (preference) dataset, which only rm and dpo use"
          : `stage ${opts.stage} needs a ranking dataset ("ranking": true with chosen and rejected columns)`),
    );
  }
  const split = attr.split ?? opts.split ?? "train";
  if (split !== "train") {
    throw new RangeError(
      `Cannot load split "${split}" of dataset "${attr.name}": local files hold a single "train" split`,
    );
  }
  const path = `${(opts.datasetDir ?? "data").replace(/\/+$/, "")}/${attr.file_name}`;
  let raw: RawRecord[];
  try {
    raw = await readRecords(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot load dataset "${attr.name}": ${path} does not exist (its file_name in ${attr.infoPath})`,
      );
    }
    throw e;
  }
  if (raw.length === 0) {
    throw new RangeError(`Cannot load dataset "${attr.name}": ${path} holds no records`);
  }
  checkColumns(attr, format, raw, path);
  if (attr.num_samples !== undefined) {
    raw = sampleItems(raw, { count: attr.num_samples, seed: opts.seed });
  }
  if (opts.maxSamples !== undefined) raw = raw.slice(0, opts.maxSamples);

  const examples: Example[] = [];
  const skipped = new Map<string, number>();
  let first = "";
  for (const r of raw) {
    let out: Example | { skip: string };
    try {
      out = format.convert(r.record, attr);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      throw new TypeError(`Cannot convert ${r.where} (dataset "${attr.name}"): ${e.message}`);
    }
    if ("skip" in out) {
      skipped.set(out.skip, (skipped.get(out.skip) ?? 0) + 1);
      first ||= r.where;
    } else examples.push(out);
  }
  const reasons = [...skipped].map(([why, n]) => `${n} with ${why}`).join(", ");
  const total = raw.length - examples.length;
  if (examples.length === 0) {
    throw new RangeError(
      `Cannot load dataset "${attr.name}": none of its ${raw.length} examples is valid (${reasons})`,
    );
  }
  const warning = total === 0
    ? undefined
    : `Skipped ${total} of ${raw.length} examples of dataset ` +
      `"${attr.name}" (${reasons}); the first is ${first}`;
  return { examples, warning };
}

function checkColumns(
  attr: DatasetAttr,
  format: DatasetFormat,
  raw: RawRecord[],
  path: string,
): void {
  for (const [role, column] of format.columns(attr)) {
    if (raw.some((r) => column in r.record)) continue;
    const have = [...new Set(raw.flatMap((r) => Object.keys(r.record)))].slice(0, 12);
    throw new TypeError(
      `Cannot load dataset "${attr.name}": column "${column}" (columns.${role}) is missing ` +
        `from every record of ${path}; they have ${have.map((k) => `"${k}"`).join(", ")}`,
    );
  }
}

/**
 * Loads, converts and mixes `names` from dataset_info.json, then holds out `valSize` (or loads
 * `evalNames`) as the evaluation set (LlamaFactory's get_dataset, before tokenization).
 */
export async function loadDatasets(
  names: readonly string[],
  opts: LoadOptions,
): Promise<LoadedDatasets> {
  if (names.length === 0) throw new RangeError("Cannot load datasets: no dataset names given");
  const dir = opts.datasetDir ?? "data";
  const info = await readDatasetInfo(dir);
  const warnings: string[] = [];
  const mix = async (list: readonly string[]) => {
    const sets: Example[][] = [];
    for (const n of list) {
      const { examples, warning } = await loadDataset(datasetAttr(info, n), opts);
      if (warning) warnings.push(warning);
      sets.push(examples);
    }
    return mixDatasets(sets, {
      strategy: opts.mixStrategy,
      probs: opts.interleaveProbs,
      seed: opts.seed,
    });
  };
  const train = await mix(names);
  const valSize = opts.valSize ?? 0;
  if (opts.evalNames && opts.evalNames.length > 0) {
    if (valSize > 0) {
      throw new TypeError(
        "Cannot combine valSize with evalNames: the evaluation set comes from one or the other",
      );
    }
    return { train, eval: await mix(opts.evalNames), warnings };
  }
  if (valSize > 0) return { ...splitTrainEval(train, { valSize, seed: opts.seed }), warnings };
  return { train, warnings };
}

/** Replaces the {{name}} and {{author}} placeholders of identity data in every text field. */
export function fillIdentity<E extends Example>(
  example: E,
  who: { name: string; author: string },
): E {
  const fill = (s: string) =>
    s.replaceAll("{{name}}", who.name).replaceAll("{{author}}", who.author);
  const msg = <M extends { content: string }>(m: M): M => ({ ...m, content: fill(m.content) });
  const out: Record<string, unknown> = { ...example, messages: example.messages.map(msg) };
  if (example.system !== undefined) out.system = fill(example.system);
  if ("chosen" in example) {
    [out.chosen, out.rejected] = [msg(example.chosen), msg(example.rejected)];
  }
  return out as E;
}
