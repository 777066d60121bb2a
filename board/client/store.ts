// Form values survive a reload: every field with an id is saved to localStorage on change and
// restored at start. Fresh-run folders are left out, so a reload never reuses a finished run's.
import { $ } from "./dom.ts";

const KEY = "llamaboard:form:v1";
/** Ids not kept: each run gets a fresh output folder; the chat input is a draft. */
const SKIP = new Set([
  "output_dir",
  "eval_save_dir",
  "predict_output_dir",
  "args-path",
  "chat-input",
]);
type Saved = Record<string, string | string[] | boolean>;

let saved: Saved = {};
try {
  saved = JSON.parse(localStorage.getItem(KEY) ?? "{}");
} catch { /* storage off or corrupt: start blank */ }

type Field = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

function isField(el: EventTarget | null): el is Field {
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement ||
    el instanceof HTMLTextAreaElement;
}

function valueOf(el: Field): string | string[] | boolean {
  if (el instanceof HTMLSelectElement && el.multiple) {
    return [...el.selectedOptions].map((o) => o.value);
  }
  if (el instanceof HTMLInputElement && el.type === "checkbox") return el.checked;
  return el.value;
}

/** The saved selection of multi-select `id`, if any (options may load after the restore). */
export function savedSelection(id: string): string[] | undefined {
  const v = saved[id];
  return Array.isArray(v) ? v : undefined;
}

/** Restores saved values into the page and saves every later change. */
export function initStore(): void {
  for (const [id, v] of Object.entries(saved)) {
    const el = document.getElementById(id);
    if (!isField(el) || SKIP.has(id)) continue;
    if (typeof v === "boolean" && el instanceof HTMLInputElement) el.checked = v;
    else if (typeof v === "string" && !(el instanceof HTMLSelectElement && el.multiple)) {
      // A select keeps its value only when the option still exists.
      if (!(el instanceof HTMLSelectElement) || [...el.options].some((o) => o.value === v)) {
        el.value = v;
      }
    }
  }
  const save = (e: Event) => persist(e.target);
  document.addEventListener("change", save);
  document.addEventListener("input", save);
}

/** Records the current value of `id` (after a change made by code, which fires no event). */
export function remember(id: string): void {
  persist($(id));
}

function persist(el: EventTarget | null): void {
  if (!isField(el) || !el.id || SKIP.has(el.id)) return;
  saved[el.id] = valueOf(el);
  try {
    localStorage.setItem(KEY, JSON.stringify(saved));
  } catch { /* storage full or off */ }
}
