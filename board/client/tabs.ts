// Tab switching; the active tab survives a reload, and a run in progress brings its tab forward.
import { $ } from "./dom.ts";

const KEY = "llamaboard:tab";
export type Tab = "train" | "eval" | "chat" | "export";

export function showTab(tab: Tab): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("[data-tab]")) {
    const on = b.dataset.tab === tab;
    b.classList.toggle("on", on);
    b.setAttribute("aria-selected", String(on));
    $(`tab-${b.dataset.tab}`).hidden = !on;
  }
  try {
    localStorage.setItem(KEY, tab);
  } catch { /* storage off */ }
}

export function initTabs(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("[data-tab]")) {
    b.addEventListener("click", () => showTab(b.dataset.tab as Tab));
  }
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(KEY);
  } catch { /* storage off */ }
  if (saved && document.querySelector(`[data-tab="${saved}"]`)) showTab(saved as Tab);
}
