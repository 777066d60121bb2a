// Reading the forms: the top bar, and the schema fields of a tab (only values changed from
// their default, as the server drops defaults anyway); and writing loaded arguments back.
import { $, input, select, selectedValues } from "./dom.ts";

type Field = HTMLInputElement | HTMLSelectElement;

/** The top bar's values, sent with every kind of run and with the chat's load. */
export function topValues(): Record<string, string> {
  const method = select("finetuning_type").value;
  const picked = selectedValues(select("adapter_name_or_path"));
  const v: Record<string, string> = {
    model_name_or_path: input("model_name_or_path").value.trim(),
    finetuning_type: method,
    template: select("template").value,
    adapter_name_or_path: method === "lora" ? picked.join(",") : "",
  };
  // LlamaBoard: a full or freeze checkpoint is a whole model, used in place of the base.
  if (method !== "lora" && picked.length) v.model_name_or_path = picked.at(-1)!;
  const bits = select("quantization_bit").value;
  if (bits) v.quantization_bit = bits;
  return v;
}

/** The current text of a field: "true"/"false" for a checkbox, comma-joined for a multi-select. */
export function fieldText(el: Field): string {
  if (el instanceof HTMLInputElement && el.type === "checkbox") return String(el.checked);
  if (el instanceof HTMLSelectElement && el.multiple) return selectedValues(el).join(",");
  return el.value;
}

/** `[data-<attr>]` fields under `root` whose value differs from their data-default. */
export function fieldValues(root: ParentNode, attr: "key" | "field"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const el of root.querySelectorAll<Field>(`[data-${attr}]`)) {
    const key = el.dataset[attr]!;
    const value = fieldText(el);
    const def = el instanceof HTMLInputElement && el.type === "checkbox"
      ? String(el.dataset.default === "true")
      : el.dataset.default ?? "";
    if (value !== def) out[key] = value;
  }
  return out;
}

/** The last segment of the model's name or path (saves/<it>/<method>/...). */
export function modelName(): string {
  return input("model_name_or_path").value.split(/[/\\]/).filter(Boolean).pop() || "model";
}

/** Sets a field from a loaded value; false when the field cannot show it. */
export function setField(el: Field, value: unknown): boolean {
  const text = Array.isArray(value) ? value.map(String) : String(value ?? "");
  if (el instanceof HTMLInputElement && el.type === "checkbox") {
    el.checked = value === true || value === "true";
    return true;
  }
  if (el instanceof HTMLSelectElement) {
    const want = Array.isArray(text) ? text : el.multiple ? text.split(",") : [text];
    // Options not listed (an adapter from elsewhere, a dataset not yet loaded) are added.
    for (const v of want) {
      if (v && ![...el.options].some((o) => o.value === v)) el.add(new Option(v, v));
    }
    for (const o of el.options) o.selected = want.includes(o.value);
    return true;
  }
  el.value = Array.isArray(text) ? text.join(",") : text;
  return true;
}

/** Puts loaded `values` into the top bar and the Train tab; returns the keys with no field. */
export function applyValues(values: Readonly<Record<string, unknown>>): string[] {
  const ignored: string[] = [];
  const tab = $("tab-train");
  for (const [key, value] of Object.entries(values)) {
    const el = (document.getElementById(key) as Field | null) ??
      tab.querySelector<Field>(`[data-key="${CSS.escape(key)}"]`);
    if (!el || !(el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) {
      if (key !== "do_train") ignored.push(key);
      continue;
    }
    setField(el, value);
    // "input", not "change": saved for a reload, without the change handlers (the template
    // picker would overwrite a loaded template).
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  return ignored;
}
