// Harness of LlamaBoard's browser tests: Debian's chromium driven by npm:playwright-core against
// createBoardApp served on 127.0.0.1, in a temporary working folder holding copies of the tiny
// model and the data sets. Every wait has a timeout and the whole test has a deadline, so a stuck
// page fails the test instead of hanging the suite.
import { type Browser, chromium, type Page } from "playwright-core";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BoardApp, createBoardApp } from "../../../board/server.ts";

export type { Page } from "playwright-core";

export const CHROMIUM = Deno.env.get("LLAMAFORGE_CHROMIUM") ?? "/usr/bin/chromium";
/** The flags from the issue: no sandbox as root, no GPU, no traffic to Google's hosts. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** Where screenshots go (ignored by git). */
export const OUTPUT_DIR = fileURLToPath(new URL("./output/", import.meta.url));
const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** Why the browser tests cannot run here, or undefined when chromium is present. */
export function chromiumMissing(): string | undefined {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return undefined;
    return `${CHROMIUM} is not a file`;
  } catch {
    return `${CHROMIUM} not found (apt-get install chromium, as .ci/run does)`;
  }
}

/** Launches headless chromium; the caller closes it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: 30_000,
  });
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    const src = join(from, e.name), dst = join(to, e.name);
    if (e.isDirectory) await copyDir(src, dst);
    else if (e.isFile) await Deno.copyFile(src, dst);
  }
}

/**
 * A temporary working folder with models/tiny-llama, data/ and evaluation/ copied in (the board refuses
 * symlinks that leave its root) and an empty saves/.
 */
export async function makeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "llamaboard_e2e_" });
  await copyDir(join(REPO, "models", "tiny-llama"), join(root, "models", "tiny-llama"));
  await copyDir(join(REPO, "data"), join(root, "data"));
  await copyDir(join(REPO, "evaluation"), join(root, "evaluation"));
  await Deno.mkdir(join(root, "saves"));
  return root;
}

/** Saves a full-page PNG as tests/board/e2e/output/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true, timeout: 15_000 });
  return path;
}

/** Processes (other than this one) whose working folder lies inside `root` (Linux /proc). */
export async function processesIn(root: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const e of Deno.readDir("/proc")) {
      const pid = Number(e.name);
      if (!Number.isInteger(pid) || pid === Deno.pid) continue;
      try {
        const cwd = await Deno.readLink(`/proc/${pid}/cwd`);
        if (cwd === root || cwd.startsWith(root + "/")) out.push(pid);
      } catch { /* gone, or not ours to read */ }
    }
  } catch { /* no /proc: nothing to report */ }
  return out;
}

/**
 * The little of the DOM that functions run in the page use: this project's TypeScript lib has no
 * DOM types, and those functions run in the browser, where `globalThis.document` exists.
 */
export interface Dom {
  readonly document: {
    querySelector(selector: string): DomElement | null;
    querySelectorAll(selector: string): Iterable<DomElement>;
  };
}
export interface DomElement {
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  readonly textContent: string | null;
}

/** In the page: the number in `#loss-chart[data-points]` and the run's `data-status`. */
export function runView(): { points: number; status: string } {
  const d = (globalThis as unknown as Dom).document;
  return {
    points: Number(d.querySelector("#loss-chart")?.getAttribute("data-points") ?? 0) || 0,
    status: d.querySelector("#run-status")?.getAttribute("data-status") ?? "",
  };
}

export interface E2e {
  readonly page: Page;
  readonly browser: Browser;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** The temporary working folder of the board. */
  readonly root: string;
  readonly board: BoardApp;
}

export interface E2eOptions {
  /** Deadline of the whole test body, in ms; past it the browser is closed and the test fails. */
  readonly timeoutMs: number;
  /** Default timeout of each playwright action and wait, in ms. */
  readonly actionTimeoutMs?: number;
}

/**
 * Registers a browser test. Without chromium it is skipped with the reason printed, except
 * under CI (where .ci/run installs chromium), where it runs and fails.
 */
export function e2eTest(name: string, fn: (e: E2e) => Promise<void>, opts: E2eOptions): void {
  const missing = chromiumMissing();
  if (missing && !Deno.env.get("CI")) {
    console.error(`skipping browser test "${name}": ${missing}`);
    // The reason rides in the name too: `deno test --quiet` hides what modules print.
    Deno.test({ name: `${name} (skipped: ${missing})`, ignore: true, fn() {} });
    return;
  }
  Deno.test({
    name,
    fn: () => runE2e(name, fn, opts),
  });
}

async function runE2e(
  name: string,
  fn: (e: E2e) => Promise<void>,
  opts: E2eOptions,
): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`Cannot run the browser test: ${missing}`);
  const root = await makeRoot();
  const board = createBoardApp({ root });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, board.app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  let browser: Browser | undefined;
  let page: Page | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pageErrors: string[] = [];
  try {
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(opts.actionTimeoutMs ?? 20_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`The browser test did not finish within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
    });
    await Promise.race([fn({ page, browser, base, root, board }), deadline]);
    if (pageErrors.length) {
      throw new Error(`The page threw ${pageErrors.length} error(s): ${pageErrors.join("; ")}`);
    }
  } catch (e) {
    // What the page showed when it failed, to look at.
    const slug = name.replace(/[^a-z0-9]+/gi, "_").slice(0, 60);
    if (page) {
      await screenshot(page, `failed_${slug}`).then(
        (path) => console.error(`screenshot of the failure: ${path}`),
        () => {},
      );
    }
    if (pageErrors.length) console.error(`errors thrown in the page: ${pageErrors.join("; ")}`);
    throw e;
  } finally {
    clearTimeout(timer);
    // The browser first: its open EventSource would keep server.shutdown() waiting.
    await within(browser?.close() ?? Promise.resolve(), 15_000, "close chromium").catch(() => {});
    // A run is killed after 5 s of SIGTERM (board/runs.ts), so 20 s is plenty.
    await within(board.close(), 20_000, "close the board");
    await within(server.shutdown(), 10_000, "shut the server down");
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** `p`, or a rejection naming `what` after `ms`: clean-up must not hang the suite either. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Cannot ${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens the board at `path` and waits until its script has filled the dataset list. */
export async function openBoard(e: E2e, path = "/"): Promise<void> {
  // The first load waits for the server to bundle the client script (seconds, once).
  await e.page.goto(e.base + path, { waitUntil: "load", timeout: 90_000 });
  await e.page.waitForSelector("#dataset option", { state: "attached" });
}

/** Sets the hyperparameter `[data-key=key]`, opening its collapsed group as a person would. */
export async function setField(page: Page, key: string, value: string): Promise<void> {
  const field = page.locator(`#tab-train [data-key="${key}"]`);
  if (!(await field.isVisible())) {
    await page.locator(`details:has([data-key="${key}"]) > summary`).first().click();
  }
  await field.fill(value);
  // A change event, as leaving the field would fire.
  await field.dispatchEvent("change");
}

/**
 * The `data-status` of `selector` once it is one of `wanted`. Fails after `timeoutMs`, or as soon
 * as `errorSelector` shows a message (the page gave up: no point waiting for the timeout).
 */
export async function waitForStatus(
  page: Page,
  selector: string,
  opts: {
    wanted: readonly string[];
    timeoutMs: number;
    /** An element whose text explains a failure (e.g. "#run-error"), quoted in the error. */
    errorSelector?: string;
  },
): Promise<string> {
  const wanted = opts.wanted.join("|");
  const handle = await page.waitForFunction(
    ([sel, want, errSel]) => {
      const d = (globalThis as unknown as Dom).document;
      const s = d.querySelector(sel as string)?.getAttribute("data-status") ?? "";
      if ((want as string[]).includes(s)) return { status: s };
      const err = errSel ? d.querySelector(errSel as string) : null;
      const msg = err && !err.hasAttribute("hidden") ? (err.textContent ?? "").trim() : "";
      return msg ? { status: s, error: msg } : false;
    },
    [selector, [...opts.wanted], opts.errorSelector ?? ""] as const,
    { timeout: opts.timeoutMs, polling: 100 },
  ).catch(async (e) => {
    const now = await page.locator(selector).getAttribute("data-status").catch(() => null);
    throw new Error(
      `${selector} did not reach data-status ${wanted} within ${opts.timeoutMs} ms ` +
        `(it is ${JSON.stringify(now)}): ${(e as Error).message.split("\n")[0]}`,
    );
  });
  const got = await handle.jsonValue() as { status: string; error?: string };
  if (got.error !== undefined) {
    throw new Error(
      `${selector} did not reach data-status ${wanted}: it is ${JSON.stringify(got.status)} and ` +
        `${opts.errorSelector} says: ${got.error}`,
    );
  }
  return got.status;
}

/** The number in `#loss-chart[data-points]` (0 when absent). */
export async function lossPoints(page: Page): Promise<number> {
  return Number(await page.locator("#loss-chart").getAttribute("data-points") ?? 0) || 0;
}

/** Seconds since `t0`, for the logs. */
export function since(t0: number): string {
  return ((performance.now() - t0) / 1000).toFixed(1);
}
