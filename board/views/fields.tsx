// deno-lint-ignore-file jsx-key -- server-rendered once to a string: keys do nothing, and hono
// would print them as attributes.
// Form pieces shared by the tabs: inputs generated from configSchema fields (so a key added to
// the schema appears without edits), plain selects, and the status/progress/output panel of a run.
import type { FC } from "hono/jsx";
import { configSchema, type FieldInfo } from "../../core/config/mod.ts";
import { fieldInfo, fieldLabel } from "../field_labels.ts";
import { type Lang, t } from "../i18n.ts";
import { type SectionName, sectionOf } from "./sections.ts";

export function text(v: unknown): string {
  return v === undefined || v === null ? "" : Array.isArray(v) ? v.join(",") : String(v);
}

export interface FieldProps {
  readonly field: FieldInfo;
  /**
   * "key": the Train tab's hyperparameters (`data-key`, ids `f_<key>`); "field": the other tabs
   * (`data-field`, ids `<prefix><key>`), so a key shown on two tabs never repeats a `data-key`.
   */
  readonly attr?: "key" | "field";
  readonly prefix?: string;
  /** Value shown instead of the schema default (the default stays in data-default). */
  readonly value?: string;
  /** A <datalist> id offering values. */
  readonly list?: string;
}

/** FieldProps of a labelled field: the page language picks the label and the tooltip. */
export interface SchemaFieldProps extends FieldProps {
  readonly lang: Lang;
}

/** One schema field as an input: a checkbox for a bool, a select for an enum, text otherwise. */
export const SchemaInput: FC<FieldProps> = ({ field: f, attr = "key", prefix, value, list }) => {
  const def = text(f.default);
  const id = attr === "key" ? `f_${f.key}` : `${prefix ?? ""}${f.key}`;
  const data = attr === "key" ? { "data-key": f.key } : { "data-field": f.key };
  if (f.type === "bool") {
    return (
      <input
        type="checkbox"
        name={f.key}
        id={id}
        {...data}
        data-default={def}
        checked={(value ?? def) === "true"}
      />
    );
  }
  if (f.type === "enum") {
    const opts = [...(f.default === undefined ? [""] : []), ...(f.choices ?? [])];
    const on = value ?? def;
    return (
      <select name={f.key} id={id} {...data} data-default={def}>
        {opts.map((c) => <option value={c} selected={c === on}>{c}</option>)}
      </select>
    );
  }
  const mode = f.type === "int" ? "numeric" : f.type === "float" ? "decimal" : "text";
  return (
    <input
      type="text"
      inputmode={mode}
      name={f.key}
      id={id}
      {...data}
      data-default={def}
      value={value ?? def}
      list={list}
    />
  );
};

/**
 * The head of a field's label: its human name in `lang`, then the config key itself, since
 * LlamaFactory users match the board's fields to their YAML keys.
 */
export const FieldHead: FC<{ lang: Lang; fieldKey: string }> = ({ lang, fieldKey }) => (
  <span class="head">
    <span class="label">{fieldLabel(fieldKey, lang)}</span>
    <code class="key">{fieldKey}</code>
  </span>
);

/** A labelled schema field: human label and config key, the description as tooltip. */
export const SchemaField: FC<SchemaFieldProps> = ({ lang, ...props }) => (
  <label
    class={/_dir$/.test(props.field.key) ? "field path" : "field"}
    title={fieldInfo(props.field, lang)}
  >
    <FieldHead lang={lang} fieldKey={props.field.key} />
    <SchemaInput {...props} />
  </label>
);

/** The schema fields named by `keys`, in that order. */
export function fieldsOf(keys: readonly string[]): FieldInfo[] {
  return keys.map((k) => {
    const f = configSchema.byKey.get(k);
    if (!f) throw new TypeError(`Cannot show field "${k}": configSchema has no such key`);
    return f;
  });
}

/** The fields of `section` (less `skip`) as Train-tab inputs inside a collapsed <details>. */
export const GroupFields: FC<{ lang: Lang; group: SectionName; skip: ReadonlySet<string> }> = (
  { lang, group, skip },
) => {
  const fields = configSchema.fields.filter((f) => sectionOf(f) === group && !skip.has(f.key));
  if (!fields.length) return null;
  return (
    <details class="group" data-group={group}>
      <summary>{t(lang, `group_${group}`)} ({fields.length})</summary>
      <div class="fields">{fields.map((f) => <SchemaField lang={lang} field={f} />)}</div>
    </details>
  );
};

/** A <select> of `choices` with `def` selected. */
export const Choice: FC<{ id: string; choices: readonly string[]; def: string }> = (
  { id, choices, def },
) => (
  <select id={id} name={id}>
    {choices.map((c) => <option value={c} selected={c === def}>{c}</option>)}
  </select>
);

export interface RunPanelProps {
  readonly lang: Lang;
  /** Id prefix: "run" (Train), "eval", "export". */
  readonly prefix: string;
  /** Ids of the start and abort buttons. */
  readonly start: string;
  readonly abort: string;
}

/** Start/abort, the run's status, error, progress bar and output, ids prefixed by `prefix`. */
export const RunPanel: FC<RunPanelProps> = ({ lang, prefix, start, abort }) => (
  <div class="run-panel">
    <div class="row">
      <button type="button" id={start} class="primary">{t(lang, "start")}</button>
      <button type="button" id={abort} disabled>{t(lang, "abort")}</button>
      <span class="status-line">
        {t(lang, "status")}:{" "}
        <b id={`${prefix}-status`} data-status="idle" class="status">{t(lang, "idle")}</b>
      </span>
      <span id={`${prefix}-busy`} class="muted" hidden>{t(lang, "busy")}</span>
    </div>
    <div id={`${prefix}-error`} class="error" role="alert" hidden></div>
    <div class="progress-line">
      <progress id={`${prefix}-progress`} max="100" value="0"></progress>
      <span id={`${prefix}-progress-text`} class="muted"></span>
    </div>
  </div>
);

/** The child's output lines. */
export const RunOutput: FC<{ lang: Lang; prefix: string }> = ({ lang, prefix }) => (
  <div class="output">
    <h4>{t(lang, "output")}</h4>
    <pre id={`${prefix}-output`}></pre>
  </div>
);
