// Loads a LlamaFactory-style YAML (or JSON) config plus `key=value` overrides, validates it
// against the schema and returns the arguments with the notes worth telling the user.
import { isMap, isScalar, LineCounter, parse as parseYaml, parseDocument } from "yaml";
import { closest } from "../registry.ts";
import { applyRules } from "./_rules.ts";
import { type Args, configSchema, type FieldInfo } from "./schema.ts";

export interface ConfigResult {
  readonly args: Args;
  /** One line per accepted-but-ignored key (runtime-only or inert); for the caller to show. */
  readonly notes: readonly string[];
}

export interface ConfigOptions {
  /** Registered plugin names by kind ("template", "scheduler", "optimizer"): checks those keys. */
  readonly plugins?: Readonly<Record<string, readonly string[]>>;
}

interface Origin {
  readonly source: string;
  readonly line?: number;
  /** Set for command-line overrides: their values are text to be typed per field. */
  readonly override?: string;
}

interface Entry {
  readonly key: string;
  readonly value: unknown;
  readonly origin: Origin;
}

/** Reads `path` (YAML or JSON), applies `overrides` (`key=value`) and validates the result. */
export async function loadConfig(
  path: string | undefined,
  overrides: readonly string[] = [],
  opts: ConfigOptions = {},
): Promise<ConfigResult> {
  if (path === undefined) {
    return validate(overrides.map(overrideEntry), "command-line overrides", opts);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot load config "${path}": the file does not exist`);
    }
    throw e;
  }
  return parseConfig(text, { ...opts, source: path, overrides });
}

/** Validates config text (the board posts YAML) the way `loadConfig` validates a file. */
export function parseConfig(
  text: string,
  opts: ConfigOptions & { source?: string; overrides?: readonly string[] } = {},
): ConfigResult {
  const source = opts.source ?? "the config";
  const entries = [...yamlEntries(text, source), ...(opts.overrides ?? []).map(overrideEntry)];
  return validate(entries, source, opts);
}

/** Validates a plain object of values (a form), as if it were a YAML file called `source`. */
export function validateConfig(
  values: Readonly<Record<string, unknown>>,
  opts: ConfigOptions & { source?: string } = {},
): ConfigResult {
  const source = opts.source ?? "the config";
  const entries = Object.entries(values).map(([key, value]) => ({
    key,
    value,
    origin: { source },
  }));
  return validate(entries, source, opts);
}

function yamlEntries(text: string, source: string): Entry[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const at = pos ? ` (line ${pos.line}, column ${pos.col})` : "";
    throw new SyntaxError(`Cannot parse ${source}${at}: ${e.message.split("\n")[0]}`);
  }
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) {
    throw new TypeError(
      `Cannot load ${source}: expected a mapping of keys to values at the top level`,
    );
  }
  const js = doc.toJS() as Record<string, unknown>;
  const out: Entry[] = [];
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const offset = isScalar(pair.key) && pair.key.range ? pair.key.range[0] : undefined;
    const line = offset === undefined ? undefined : lines.linePos(offset).line;
    out.push({ key, value: js[key] ?? null, origin: { source, line } });
  }
  return out;
}

function overrideEntry(text: string): Entry {
  const eq = text.indexOf("=");
  const key = text.slice(0, eq).trim().replace(/^--/, "");
  if (eq < 0 || key === "") {
    throw new SyntaxError(`Cannot parse override "${text}": expected key=value`);
  }
  const raw = text.slice(eq + 1);
  return { key, value: raw, origin: { source: `override "${text}"`, override: raw } };
}

/** Types an override's text: verbatim for text fields, as a YAML scalar otherwise (OmegaConf's way). */
function overrideValue(raw: string, field: FieldInfo | undefined): unknown {
  if (raw.trim() === "null") return null;
  if (field && (field.type === "string" || field.type === "enum" || field.type === "list")) {
    return raw;
  }
  try {
    return parseYaml(raw);
  } catch {
    return raw;
  }
}

/** Accepts numbers and booleans written as strings ("1e-4", "true"), as Hugging Face's parser does. */
function coerce(value: unknown, field: FieldInfo): unknown {
  if (value === null) return field.default === undefined ? undefined : null;
  if (typeof value !== "string") return value;
  const s = value.trim();
  if ((field.type === "int" || field.type === "float") && s !== "" && Number.isFinite(Number(s))) {
    return Number(s);
  }
  if (field.type === "bool") {
    if (/^(true|yes|y|t|1)$/i.test(s)) return true;
    if (/^(false|no|n|f|0)$/i.test(s)) return false;
  }
  return value;
}

function isInert(value: unknown, inert: unknown): boolean {
  if (value === null || value === "" || JSON.stringify(value) === JSON.stringify(inert)) {
    return true;
  }
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "object" && Object.keys(value as object).length === 0;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

function place(key: string, o: Origin): string {
  if (o.override !== undefined) return `"${key}" in ${o.source}`;
  return `"${key}" in ${o.source}` + (o.line ? ` (line ${o.line})` : "");
}

function expected(f: FieldInfo): string {
  const bounds = [
    f.min !== undefined && `>= ${f.min}`,
    f.gt !== undefined && `> ${f.gt}`,
    f.max !== undefined && `<= ${f.max}`,
    f.lt !== undefined && `< ${f.lt}`,
  ].filter(Boolean).join(" and ");
  switch (f.type) {
    case "int":
      return f.choices ? `one of ${f.choices.join(", ")}` : `an integer${bounds && " " + bounds}`;
    case "float":
      return `a number${bounds && " " + bounds}`;
    case "bool":
      return "true or false";
    case "string":
      return "a string";
    case "enum":
      return `one of ${f.choices!.map((c) => `"${c}"`).join(", ")}`;
    case "list":
      return "a comma-separated string or a list of strings";
    case "float_list":
      return "comma-separated numbers or a list of numbers";
  }
}

const knownKeys = [
  ...configSchema.byKey.keys(),
  ...Object.keys(configSchema.runtimeKeys),
  ...Object.keys(configSchema.unsupportedKeys),
];

type ErrorClass = new (message: string) => Error;

function validate(entries: Entry[], source: string, opts: ConfigOptions): ConfigResult {
  const problems: { cls: ErrorClass; message: string }[] = [];
  const fail = (cls: ErrorClass, message: string) => problems.push({ cls, message });
  const notes: string[] = [];
  const last = new Map<string, Entry>();
  for (const e of entries) last.set(e.key, e);

  const values: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();
  for (const { key, value: given, origin } of last.values()) {
    const field = configSchema.byKey.get(key);
    const value = origin.override !== undefined ? overrideValue(origin.override, field) : given;
    const where = place(key, origin);
    if (field) {
      const v = coerce(value, field);
      if (v !== undefined) values[key] = v;
      origins.set(key, origin);
    } else if (key in configSchema.runtimeKeys) {
      notes.push(`${where} is ignored: ${configSchema.runtimeKeys[key]}`);
    } else if (key in configSchema.unsupportedKeys) {
      const { inert, reason } = configSchema.unsupportedKeys[key];
      if (isInert(value, inert)) {
        notes.push(`${where} is ignored: it is left at LlamaFactory's default; ${reason}`);
      } else {
        fail(
          RangeError,
          `Unsupported key ${where}: ${reason} (only LlamaFactory's default ${
            show(inert)
          } is accepted)`,
        );
      }
    } else {
      const hint = closest(key, knownKeys);
      fail(
        TypeError,
        `Unknown key ${where}` +
          (hint ? `: did you mean "${hint}"?` : ": it is not a LlamaFactory key"),
      );
    }
  }

  const parsed = configSchema.object.safeParse(values);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]);
      if (seen.has(key)) continue;
      seen.add(key);
      const field = configSchema.byKey.get(key)!;
      const got = values[key];
      const where = place(key, origins.get(key)!);
      const range = issue.code === "too_small" || issue.code === "too_big" ||
        issue.code === "invalid_value";
      const hint = field.type === "enum" && typeof got === "string"
        ? closest(got, field.choices!)
        : undefined;
      fail(
        range ? RangeError : TypeError,
        `Invalid value for ${where}: expected ${expected(field)}, got ${show(got)}` +
          (hint ? ` (did you mean "${hint}"?)` : ""),
      );
    }
    throw combined(problems);
  }

  const args = parsed.data;
  for (const [key, origin] of origins) {
    const field = configSchema.byKey.get(key)!;
    const v = (args as Record<string, unknown>)[key];
    if (typeof v !== "string") continue;
    const why = field.unsupported?.[v];
    if (why) fail(RangeError, `Unsupported value "${v}" for ${place(key, origin)}: ${why}`);
    const names = field.plugin ? opts.plugins?.[field.plugin] : undefined;
    if (names && !names.includes(v)) {
      const hint = closest(v, names);
      fail(
        RangeError,
        `Cannot find ${field.plugin} "${v}" for ${place(key, origin)}: expected one of ` +
          names.map((n) => `"${n}"`).join(", ") + (hint ? ` (did you mean "${hint}"?)` : ""),
      );
    }
  }
  applyRules(args, {
    source,
    at: (key) => (origins.has(key) ? place(key, origins.get(key)!) : `"${key}"`),
    fail,
    note: (m) => notes.push(m),
  });
  if (problems.length > 0) throw combined(problems);
  return { args, notes };
}

/** One error for every problem found, so a user fixes a config in one pass. */
function combined(problems: { cls: ErrorClass; message: string }[]): Error {
  return new problems[0].cls(problems.map((p) => p.message).join("\n"));
}
