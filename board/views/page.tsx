// The board's one page, rendered on the server: the top bar, four tabs, and the client bundle
// that wires them (board/client). Hyperparameter fields come from configSchema.
import type { FC } from "hono/jsx";
import type { Lang } from "../i18n.ts";
import { t } from "../i18n.ts";
import { type ChatStatus, ChatTab } from "./chat_tab.tsx";
import { EvalTab } from "./eval_tab.tsx";
import { ExportTab } from "./export_tab.tsx";
import { Layout } from "./layout.tsx";
import { TopBar } from "./top_bar.tsx";
import { TrainTab } from "./train_tab.tsx";

export type Tab = "train" | "eval" | "chat" | "export";
export const TABS: readonly Tab[] = ["train", "eval", "chat", "export"];

export interface PageProps {
  readonly lang: Lang;
  readonly models: readonly string[];
  readonly templates: readonly string[];
  readonly defaultModel: string;
  /** File name of the client bundle under /static/. */
  readonly script: string;
  readonly chatStatus: ChatStatus;
  readonly tab?: Tab;
}

export const Page: FC<PageProps> = (p) => {
  const { lang } = p;
  const tab = p.tab ?? "train";
  return (
    <Layout lang={lang} script={p.script}>
      <TopBar
        lang={lang}
        models={p.models}
        templates={p.templates}
        defaultModel={p.defaultModel}
      />
      <nav class="tabs" role="tablist">
        {TABS.map((name) => (
          <button
            type="button"
            role="tab"
            data-tab={name}
            class={name === tab ? "on" : ""}
            aria-selected={name === tab ? "true" : "false"}
          >
            {t(lang, `tab_${name}`)}
          </button>
        ))}
      </nav>
      <main>
        <TrainTab lang={lang} active={tab === "train"} />
        <EvalTab lang={lang} active={tab === "eval"} />
        <ChatTab lang={lang} active={tab === "chat"} status={p.chatStatus} />
        <ExportTab lang={lang} active={tab === "export"} />
      </main>
    </Layout>
  );
};

/** The page as an HTML document. */
export async function renderPage(p: PageProps): Promise<string> {
  return "<!doctype html>" + await (<Page {...p} />).toString();
}
