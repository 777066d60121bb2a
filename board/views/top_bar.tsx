// deno-lint-ignore-file jsx-key -- server-rendered once to a string: keys do nothing, and hono
// would print them as attributes.
// The top bar shared by every tab: model, finetuning method, adapters found under saves/,
// quantization and chat template.
import type { FC } from "hono/jsx";
import { configSchema } from "../../core/config/mod.ts";
import { type Lang, t } from "../i18n.ts";
import { Choice, text } from "./fields.tsx";

export interface TopBarProps {
  readonly lang: Lang;
  readonly models: readonly string[];
  readonly templates: readonly string[];
  readonly defaultModel: string;
}

export const TopBar: FC<TopBarProps> = ({ lang, models, templates, defaultModel }) => {
  const method = configSchema.byKey.get("finetuning_type")!;
  // quantization_bit's choices (8, 4): the base model loads quantized for train, eval and chat.
  const quant = configSchema.byKey.get("quantization_bit")!;
  return (
    <section class="top card">
      <label class="wide">
        {t(lang, "model")}
        <input id="model_name_or_path" list="models" value={defaultModel} autocomplete="off" />
      </label>
      <datalist id="models">{models.map((m) => <option value={m}></option>)}</datalist>
      <label>
        {t(lang, "method")}
        <Choice id="finetuning_type" choices={method.choices ?? []} def={text(method.default)} />
      </label>
      <div class="adapters">
        <label for="adapter_name_or_path">{t(lang, "adapters")}</label>
        <div class="with-button">
          <select id="adapter_name_or_path" name="adapter_name_or_path" multiple size={3}>
          </select>
          <button type="button" id="adapter-refresh" title={t(lang, "refresh")}>↻</button>
        </div>
        <span id="adapter-empty" class="muted small">{t(lang, "no_adapters")}</span>
      </div>
      <label title={quant.description}>
        {t(lang, "quantization")}
        <select id="quantization_bit" name="quantization_bit">
          <option value="" selected>{t(lang, "quant_none")}</option>
          {(quant.choices ?? []).map((b) => <option value={b}>{b}</option>)}
        </select>
      </label>
      <label>
        {t(lang, "template")}
        <select id="template" name="template">
          <option value="">{t(lang, "auto")}</option>
          {templates.map((n) => <option value={n}>{n}</option>)}
        </select>
      </label>
    </section>
  );
};
