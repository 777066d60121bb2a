// The top bar: the template follows the model's family, the adapter picker lists the checkpoints
// under saves/<model>/<method>/, and the default output folders follow model and method.
import { call, input, q, select, selectedValues, stamp } from "./dom.ts";
import { modelName } from "./form.ts";
import { savedSelection } from "./store.ts";

type ErrorSink = (msg: string | undefined) => void;
let report: ErrorSink = () => {};

/** Where top-bar errors (an unknown model folder) are shown. */
export function onTopBarError(fn: ErrorSink): void {
  report = fn;
}

export async function autoTemplate(): Promise<void> {
  try {
    const { template } = await call<{ template: string }>(
      `/api/template?model=${q(input("model_name_or_path").value.trim())}`,
    );
    select("template").value = template;
    report(undefined);
  } catch (e) {
    report((e as Error).message);
  }
}

let firstLoad = true;

/** Relists the adapters, keeping the selection (or the one saved before a reload). */
export async function refreshAdapters(): Promise<void> {
  const sel = select("adapter_name_or_path");
  const before = firstLoad ? savedSelection("adapter_name_or_path") ?? [] : selectedValues(sel);
  firstLoad = false;
  try {
    const { adapters } = await call<{ adapters: string[] }>(
      `/api/adapters?model=${q(input("model_name_or_path").value.trim())}&method=${
        q(select("finetuning_type").value)
      }`,
    );
    // A pick made while the list was loading counts too.
    const keep = [...new Set([...before, ...selectedValues(sel)])];
    // A selected adapter from elsewhere (loaded arguments) stays listed.
    // Labelled by the part under saves/<model>/<method>/; the value stays the full path.
    const base = `saves/${modelName()}/${select("finetuning_type").value}/`;
    sel.replaceChildren(
      ...[...new Set([...adapters, ...keep])].map((p) =>
        new Option(p.startsWith(base) ? p.slice(base.length) : p, p, false, keep.includes(p))
      ),
    );
    sel.title = base;
    document.getElementById("adapter-empty")!.hidden = sel.options.length > 0;
  } catch (e) {
    report((e as Error).message);
  }
}

/** Fresh default folders for a new run of the current model and method. */
export function defaultOutputs(): void {
  const base = `saves/${modelName()}/${select("finetuning_type").value}`;
  const s = stamp();
  input("output_dir").value = `${base}/train_${s}`;
  input("eval_save_dir").value = `${base}/eval_${s}`;
  input("predict_output_dir").value = `${base}/predict_${s}`;
  const exportDir = input("export_dir");
  if (!exportDir.value) {
    exportDir.value = `output/${modelName()}_${select("finetuning_type").value}`;
  }
  const args = input("args-path");
  if (!args.value) args.value = `llamaboard_config/${s}.yaml`;
}

export function initTopBar(): void {
  input("model_name_or_path").addEventListener("change", () => {
    autoTemplate();
    refreshAdapters();
    defaultOutputs();
  });
  select("finetuning_type").addEventListener("change", () => {
    refreshAdapters();
    defaultOutputs();
  });
  document.getElementById("adapter-refresh")!.addEventListener("click", refreshAdapters);
}
