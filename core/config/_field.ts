// Field builders: each returns a zod schema and records its metadata (type, default,
// description, choices) in `fieldMeta`, so the CLI help and the board's forms are generated
// from the same objects that validate a YAML file.
import { z } from "zod";

export type FieldType = "string" | "int" | "float" | "bool" | "enum" | "list" | "float_list";

export interface FieldMeta {
  readonly type: FieldType;
  /** The value used when the key is absent (undefined: unset, like LlamaFactory's `None`). */
  readonly default?: unknown;
  readonly description: string;
  /** Allowed values of an `enum` field. */
  readonly choices?: readonly string[];
  /** Values LlamaFactory accepts that llamaforge does not support yet, with the reason. */
  readonly unsupported?: Readonly<Record<string, string>>;
  /** Plugin kind whose registered names are the valid values ("template", "scheduler", ...). */
  readonly plugin?: string;
  readonly min?: number;
  readonly max?: number;
  /** Exclusive bounds (a learning rate must be > 0, not >= 0). */
  readonly gt?: number;
  readonly lt?: number;
}

export const fieldMeta: z.core.$ZodRegistry<FieldMeta> = z.registry<FieldMeta>();

interface NumOpts {
  min?: number;
  max?: number;
  gt?: number;
  lt?: number;
}

/** Optional when the default is undefined, so `Args` types say which keys may be unset. */
type Field<T extends z.ZodType, D> = D extends undefined ? z.ZodOptional<T> : z.ZodDefault<T>;

function withDefault<T extends z.ZodType, D>(s: T, def: D, meta: FieldMeta): Field<T, D> {
  // NOTE: zod 4 returns a default as-is (output type), so list defaults are given already split.
  const out = def === undefined ? s.optional() : s.default(def as never);
  out.register(fieldMeta, meta);
  return out as Field<T, D>;
}

function bounded(s: z.ZodNumber, o: NumOpts): z.ZodNumber {
  if (o.min !== undefined) s = s.min(o.min);
  if (o.max !== undefined) s = s.max(o.max);
  if (o.gt !== undefined) s = s.gt(o.gt);
  if (o.lt !== undefined) s = s.lt(o.lt);
  return s;
}

/** Splits LlamaFactory's comma-separated strings ("q_proj, v_proj") into trimmed names. */
export function splitList(v: string | readonly string[]): string[] {
  const items = typeof v === "string" ? v.split(",") : v;
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

export function str<D extends string | undefined>(
  def: D,
  description: string,
  extra: { plugin?: string } = {},
) {
  return withDefault(z.string(), def, { type: "string", default: def, description, ...extra });
}

export function int<D extends number | undefined>(def: D, description: string, o: NumOpts = {}) {
  return withDefault(bounded(z.number().int(), o), def, {
    type: "int",
    default: def,
    description,
    ...o,
  });
}

export function float<D extends number | undefined>(
  def: D,
  description: string,
  o: NumOpts = {},
) {
  return withDefault(bounded(z.number(), o), def, {
    type: "float",
    default: def,
    description,
    ...o,
  });
}

export function bool<D extends boolean | undefined>(def: D, description: string) {
  return withDefault(z.boolean(), def, { type: "bool", default: def, description });
}

/** An integer from a fixed set (quantization_bit: 8 or 4); `choices` are listed in help and forms. */
export function intChoice<D extends number | undefined>(
  def: D,
  description: string,
  choices: readonly [number, ...number[]],
) {
  return withDefault(z.literal(choices), def, {
    type: "int",
    default: def,
    description,
    choices: choices.map(String),
  });
}

/** One of `choices`; `unsupported` values parse (they are LlamaFactory's) but fail validation. */
export function choice<
  const C extends readonly [string, ...string[]],
  D extends C[number] | undefined,
>(
  def: D,
  description: string,
  o: { choices: C; unsupported?: { readonly [K in C[number]]?: string } },
) {
  const unsupported = (o.unsupported ?? {}) as Record<string, string>;
  const choices = o.choices.filter((c) => !(c in unsupported));
  return withDefault(z.enum(o.choices), def, {
    type: "enum",
    default: def,
    description,
    choices,
    ...(Object.keys(unsupported).length ? { unsupported } : {}),
  });
}

/** A comma-separated string or a YAML list, parsed to a list of names. */
export function list<D extends readonly string[] | undefined>(def: D, description: string) {
  const s = z.union([z.string(), z.array(z.string())]).transform(splitList);
  return withDefault(s, def, { type: "list", default: def, description });
}

/** Comma-separated numbers or a YAML list of numbers (interleave_probs). */
export function floatList(description: string) {
  const s = z.union([z.string(), z.number(), z.array(z.number())]).transform((v, ctx) => {
    if (typeof v === "number") return [v];
    if (typeof v !== "string") return v;
    const out = splitList(v).map(Number);
    if (out.some((x) => !Number.isFinite(x))) {
      ctx.addIssue({ code: "custom", message: "not a number" });
      return z.NEVER;
    }
    return out;
  });
  return withDefault(s, undefined, { type: "float_list", description });
}
