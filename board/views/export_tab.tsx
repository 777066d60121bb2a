// deno-lint-ignore-file jsx-key -- server-rendered once to a string: keys do nothing, and hono
// would print them as attributes.
// The Export tab: the export keys of configSchema, merging the top bar's adapters into the model
// with `cli.ts export`, then the path written.
import type { FC } from "hono/jsx";
import { configSchema } from "../../core/config/mod.ts";
import { type Lang, t } from "../i18n.ts";
import { RunOutput, RunPanel, SchemaField } from "./fields.tsx";

export const ExportTab: FC<{ lang: Lang; active: boolean }> = ({ lang, active }) => {
  const fields = configSchema.fields.filter((f) => f.group === "export");
  return (
    <section id="tab-export" class="tab" hidden={!active}>
      <p class="muted">{t(lang, "export_hint")}</p>
      <div class="fields card">
        {fields.map((f) => <SchemaField lang={lang} field={f} attr="field" prefix="" />)}
      </div>
      <div class="row">
        <button type="button" id="export-preview">{t(lang, "preview_command")}</button>
      </div>
      <pre id="export-command" hidden></pre>
      <RunPanel lang={lang} prefix="export" start="export-start" abort="export-abort" />
      <p id="export-result-line" hidden>
        {t(lang, "result_path")}: <code id="export-result"></code>
      </p>
      <RunOutput lang={lang} prefix="export" />
    </section>
  );
};
