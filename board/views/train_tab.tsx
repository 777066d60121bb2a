// deno-lint-ignore-file jsx-key -- server-rendered once to a string: keys do nothing, and hono
// would print them as attributes.
// The Train tab: stage, data and output folder, the hyperparameters generated from configSchema
// (the common ones open, each group's others collapsed), command preview, saved arguments, and
// the run with its progress, loss curve and output.
import type { FC } from "hono/jsx";
import { configSchema } from "../../core/config/mod.ts";
import { type Lang, t } from "../i18n.ts";
import {
  Choice,
  fieldsOf,
  GroupFields,
  RunOutput,
  RunPanel,
  SchemaField,
  text,
} from "./fields.tsx";
import { TRAIN_SECTIONS } from "./sections.ts";

/** Keys set by the controls above the hyperparameters (or by other tabs), left out of the groups. */
const TOP_KEYS = [
  "model_name_or_path",
  "adapter_name_or_path",
  "finetuning_type",
  "template",
  "quantization_bit",
  "stage",
  "dataset",
  "dataset_dir",
  "output_dir",
  "do_train",
  "do_predict",
  "predict_with_generate",
];
/** The hyperparameters most runs change, shown open above the groups. */
export const BASIC_KEYS: readonly string[] = [
  "learning_rate",
  "num_train_epochs",
  "max_steps",
  "per_device_train_batch_size",
  "gradient_accumulation_steps",
  "cutoff_len",
  "max_samples",
  "lr_scheduler_type",
  "logging_steps",
  "save_steps",
  "lora_rank",
  "lora_alpha",
];
const SKIP = new Set([...TOP_KEYS, ...BASIC_KEYS]);

export const TrainTab: FC<{ lang: Lang; active: boolean }> = ({ lang, active }) => {
  const stage = configSchema.byKey.get("stage")!;
  return (
    <section id="tab-train" class="tab" hidden={!active}>
      <div class="row card">
        <label>
          {t(lang, "stage")}
          <Choice id="stage" choices={stage.choices ?? []} def={text(stage.default)} />
        </label>
        <label>
          {t(lang, "data_dir")}
          <input id="dataset_dir" value="data" />
        </label>
        <label>
          {t(lang, "dataset")}
          <select id="dataset" name="dataset" multiple size={4}></select>
        </label>
        <button type="button" id="preview-data">{t(lang, "preview_data")}</button>
        <label class="wide">
          {t(lang, "output_dir")}
          <input id="output_dir" value="" />
        </label>
      </div>
      <pre id="data-preview" hidden></pre>
      <h2>{t(lang, "hyperparameters")}</h2>
      <form id="hparams" onsubmit="return false">
        <div class="fields basic">
          {fieldsOf(BASIC_KEYS).map((f) => <SchemaField lang={lang} field={f} />)}
        </div>
        {TRAIN_SECTIONS.map((g) => <GroupFields lang={lang} group={g} skip={SKIP} />)}
      </form>
      <div class="row">
        <button type="button" id="preview-cmd">{t(lang, "preview_command")}</button>
        <label class="inline">
          {t(lang, "args_path")}
          <input id="args-path" value="" size={40} />
        </label>
        <button type="button" id="save-args">{t(lang, "save_args")}</button>
        <button type="button" id="load-args">{t(lang, "load_args")}</button>
        <span id="args-note" class="muted"></span>
      </div>
      <pre id="command" hidden></pre>
      <RunPanel lang={lang} prefix="run" start="start" abort="abort" />
      <div id="loss-chart" class="chart" data-points="0" aria-label={t(lang, "loss")}></div>
      <RunOutput lang={lang} prefix="run" />
    </section>
  );
};
