// LlamaBoard's hono app: the page (server-rendered JSX), its own static files (the bundled client,
// uPlot's and our CSS: no CDN), and the route groups for look-ups, runs and chat.
import { Hono } from "hono";
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import boardCss from "./static/board.css" with { type: "text" };
import { ChatModel } from "../core/infer/chat.ts";
import type { Registries } from "../core/plugins.ts";
import { initGpu } from "../core/tensor/mod.ts";
import { catalogue } from "../plugins/models/catalogue.ts";
import { builtinRegistries } from "../plugins/mod.ts";
import { type BundleOptions, clientBundle } from "./bundle.ts";
import { pickLang } from "./i18n.ts";
import { PathError } from "./paths.ts";
import { type ChatLoader, chatRoutes } from "./routes/chat.ts";
import { dataRoutes, localModels } from "./routes/data.ts";
import { runRoutes } from "./routes/runs.ts";
import { RunManager } from "./runs.ts";
import { renderPage, type Tab, TABS } from "./views/page.tsx";

export interface BoardOptions {
  /** Working folder holding data/, models/, saves/ (default: the current directory). */
  readonly root?: string;
  readonly registries?: Registries;
  readonly defaultModel?: string;
  /** Where the client bundle is built and cached (see bundle.ts). */
  readonly bundle?: BundleOptions;
  /** Loads the Chat tab's model (default ChatModel.load on the WebGPU device). */
  readonly loadChat?: ChatLoader;
}

export interface BoardApp {
  readonly app: Hono;
  readonly runs: RunManager;
  /** Resolves once the client bundle is built; rejects with the bundler's message. */
  ready(): Promise<void>;
  /** Aborts the run and releases the chat model. */
  close(): Promise<void>;
}

const defaultLoadChat: ChatLoader = async (args, registries) => {
  await initGpu();
  return await ChatModel.load(args, registries);
};

export function createBoardApp(opts: BoardOptions = {}): BoardApp {
  const root = opts.root ?? Deno.cwd();
  const registries = opts.registries ?? builtinRegistries();
  const runs = new RunManager({ root });
  const ctx = { root, registries, runs };
  const chat = chatRoutes(ctx, opts.loadChat ?? defaultLoadChat);
  // Started now so the first page load does not wait for it; failures surface on that load.
  const bundle = clientBundle(opts.bundle);
  bundle.catch(() => {});
  const app = new Hono();

  app.onError((e, c) => {
    const status = e instanceof PathError || e instanceof TypeError || e instanceof SyntaxError ||
        e instanceof RangeError || e.name === "NotFound" || e.name.startsWith("Plugin")
      ? 400
      : 500;
    return c.json({ error: e.message }, status);
  });

  app.get("/", async (c) => {
    const tab = c.req.query("tab");
    return c.html(
      await renderPage({
        lang: pickLang(c.req.query("lang")),
        models: [...await localModels(root), ...catalogue.map((m) => m.name)],
        templates: registries.templates.names(),
        defaultModel: opts.defaultModel ?? "models/tiny-llama",
        script: (await bundle).name,
        chatStatus: chat.status(),
        tab: TABS.includes(tab as Tab) ? tab as Tab : undefined,
      }),
    );
  });

  app.get("/static/:file", async (c) => {
    const name = c.req.param("file");
    const css = (body: string) => c.body(body, 200, { "content-type": "text/css; charset=utf-8" });
    if (name === "board.css") return css(boardCss);
    if (name === "uplot.css") return css(uplotCss);
    const { name: script, code } = await bundle;
    if (name !== script) return c.notFound();
    // The name changes with the content, so the browser may keep it.
    return c.body(code, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=31536000, immutable",
    });
  });

  app.route("/", dataRoutes(ctx));
  app.route("/", runRoutes(ctx));
  app.route("/", chat.app);

  return {
    app,
    runs,
    async ready() {
      await bundle;
    },
    async close() {
      await runs.close();
      chat.release();
    },
  };
}
