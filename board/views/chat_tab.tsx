// The Chat tab: load the top bar's model with its adapters, then talk to it with a system
// prompt, optional tools and per-message generation settings; tool calls are shown as blocks.
import type { FC } from "hono/jsx";
import { type Lang, t } from "../i18n.ts";
import { fieldsOf, SchemaField } from "./fields.tsx";

const GEN_KEYS = [
  "do_sample",
  "temperature",
  "top_p",
  "top_k",
  "max_new_tokens",
  "repetition_penalty",
];

export type ChatStatus = "unloaded" | "loading" | "loaded";

export const ChatTab: FC<{ lang: Lang; active: boolean; status: ChatStatus }> = (
  { lang, active, status },
) => (
  <section id="tab-chat" class="tab" hidden={!active}>
    <div class="row card">
      <button type="button" id="chat-load" class="primary">{t(lang, "load_model")}</button>
      <button type="button" id="chat-unload">{t(lang, "unload_model")}</button>
      <b id="chat-status" data-status={status} class="status">{t(lang, status)}</b>
    </div>
    <div id="chat-error" class="error" role="alert" hidden></div>
    <div class="chat-grid">
      <div class="chat-main">
        <div id="chat-log" aria-live="polite"></div>
        <div class="row">
          <textarea id="chat-input" rows={3} placeholder={t(lang, "message")}></textarea>
          <div class="stack">
            <button type="button" id="chat-send" class="primary">{t(lang, "send")}</button>
            <button type="button" id="chat-clear">{t(lang, "clear")}</button>
          </div>
        </div>
      </div>
      <aside class="chat-side">
        <label>
          {t(lang, "system_prompt")}
          <textarea id="chat-system" rows={3}></textarea>
        </label>
        <label>
          {t(lang, "tools")}
          <textarea id="chat-tools" rows={3} placeholder='[{"name": "...", "parameters": {}}]'>
          </textarea>
        </label>
        <div class="fields narrow">
          {fieldsOf(GEN_KEYS).map((f) => (
            <SchemaField lang={lang} field={f} attr="field" prefix="chat_" />
          ))}
        </div>
      </aside>
    </div>
  </section>
);
