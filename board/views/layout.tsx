// The page shell: head with our own stylesheets (no CDN), header with the language links, and
// the bundled client script. Every asset comes from this server, so the board works offline.
import type { Child, FC } from "hono/jsx";
import { type Lang, LANGS, strings, t } from "../i18n.ts";

export interface LayoutProps {
  readonly lang: Lang;
  /** File name of the client bundle under /static/. */
  readonly script: string;
  readonly children?: Child;
}

export const Layout: FC<LayoutProps> = ({ lang, script, children }) => (
  <html lang={lang}>
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{t(lang, "title")}</title>
      <link rel="icon" href="data:," />
      <link rel="stylesheet" href="/static/uplot.css" />
      <link rel="stylesheet" href="/static/board.css" />
    </head>
    <body data-lang={lang} data-i18n={JSON.stringify(strings(lang))}>
      <header class="masthead">
        <h1>{t(lang, "title")}</h1>
        <p class="muted">{t(lang, "subtitle")}</p>
        <nav class="langs" aria-label={t(lang, "language")}>
          {LANGS.map((l) => (
            <a
              href={`/?lang=${l}`}
              data-lang={l}
              class={l === lang ? "on" : ""}
              hreflang={l}
            >
              {t(lang, `lang_${l}`)}
            </a>
          ))}
        </nav>
      </header>
      {children}
      <script type="module" src={`/static/${script}`}></script>
    </body>
  </html>
);
