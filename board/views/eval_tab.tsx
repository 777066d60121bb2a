// deno-lint-ignore-file jsx-key -- server-rendered once to a string: keys do nothing, and hono
// would print them as attributes.
// The Evaluate & Predict tab: a benchmark with `cli.ts eval` (task, few-shot) or generated
// predictions with `cli.ts train` and do_predict, then the resulting metrics as a table.
import type { FC } from "hono/jsx";
import { fieldInfo } from "../field_labels.ts";
import { type Lang, t } from "../i18n.ts";
import { FieldHead, fieldsOf, RunOutput, RunPanel, SchemaField } from "./fields.tsx";

const EVAL_KEYS = ["task", "task_dir", "n_shot", "lang", "batch_size", "save_dir"];
const PREDICT_KEYS = [
  "dataset_dir",
  "eval_dataset",
  "max_samples",
  "cutoff_len",
  "per_device_eval_batch_size",
  "max_new_tokens",
  "do_sample",
  "temperature",
  "top_p",
  "top_k",
  "output_dir",
];

export const EvalTab: FC<{ lang: Lang; active: boolean }> = ({ lang, active }) => (
  <section id="tab-eval" class="tab" hidden={!active}>
    <div class="row card">
      <label>
        {t(lang, "eval_mode")}
        <select id="eval-mode">
          <option value="eval" selected>{t(lang, "mode_eval")}</option>
          <option value="predict">{t(lang, "mode_predict")}</option>
        </select>
      </label>
    </div>
    <div id="eval-fields-eval" class="fields" data-mode="eval">
      {fieldsOf(EVAL_KEYS).map((f) => (
        <SchemaField
          lang={lang}
          field={f}
          attr="field"
          prefix="eval_"
          list={f.key === "task" ? "eval-tasks" : undefined}
        />
      ))}
      <datalist id="eval-tasks"></datalist>
    </div>
    <div id="eval-fields-predict" class="fields" data-mode="predict" hidden>
      {fieldsOf(PREDICT_KEYS).map((f) =>
        f.key === "eval_dataset"
          ? (
            <label class="field" title={fieldInfo(f, lang)}>
              <FieldHead lang={lang} fieldKey={f.key} />
              <select
                id="predict_eval_dataset"
                data-field="eval_dataset"
                data-default=""
                multiple
                size={4}
              >
              </select>
            </label>
          )
          : <SchemaField lang={lang} field={f} attr="field" prefix="predict_" />
      )}
    </div>
    <div class="row">
      <button type="button" id="eval-preview">{t(lang, "preview_command")}</button>
    </div>
    <pre id="eval-command" hidden></pre>
    <RunPanel lang={lang} prefix="eval" start="eval-start" abort="eval-abort" />
    <h3 id="eval-metrics-title" hidden>{t(lang, "metrics")}</h3>
    <table id="eval-metrics" class="metrics" hidden>
      <thead>
        <tr>
          <th>{t(lang, "metric")}</th>
          <th>{t(lang, "value")}</th>
        </tr>
      </thead>
      <tbody></tbody>
    </table>
    <p class="muted" id="eval-result-line" hidden>
      {t(lang, "result_path")}: <code id="eval-result"></code>
    </p>
    <RunOutput lang={lang} prefix="eval" />
  </section>
);
