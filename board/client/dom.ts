/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Small DOM helpers shared by the client modules, and the page's string table.

/** The element with `id`; throws naming it when the page lacks it. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`Cannot find element #${id} in the page`);
  return el as T;
}

export const input = (id: string): HTMLInputElement => $<HTMLInputElement>(id);
export const select = (id: string): HTMLSelectElement => $<HTMLSelectElement>(id);

/** The page's strings in its language (i18n.ts), keyed like the server's table. */
export const S: Record<string, string> = JSON.parse(document.body.dataset.i18n ?? "{}");

/** GETs `path` (no body) or POSTs `body` as JSON; throws the server's error message. */
export async function call<T = Record<string, unknown>>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(
    path,
    body === undefined ? {} : {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    },
  );
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data as T;
}

/** Shows `msg` in `el` (hidden when empty). */
export function showMessage(el: HTMLElement, msg: string | undefined): void {
  el.hidden = !msg;
  el.textContent = msg ?? "";
}

/** The values of the selected options. */
export function selectedValues(sel: HTMLSelectElement): string[] {
  return [...sel.selectedOptions].map((o) => o.value);
}

/** Replaces the options of `sel` with `values`, selecting those in `opts.selected`. */
export function setOptions(
  sel: HTMLSelectElement,
  values: readonly string[],
  opts: { selected: readonly string[] },
): void {
  sel.replaceChildren(...values.map((v) => new Option(v, v, false, opts.selected.includes(v))));
}

/** A timestamp for default folder names, e.g. 20250101123045. */
export function stamp(): string {
  return new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
}

export const q = encodeURIComponent;
