// The Export tab: merge the top bar's adapters into the model with `cli.ts export`, as a child
// like training, then the path it wrote.
import { $, call, showMessage } from "./dom.ts";
import { fieldValues, topValues } from "./form.ts";
import { RunView } from "./run_view.ts";

function exportValues(): Record<string, string> {
  return { ...topValues(), ...fieldValues($("tab-export"), "field") };
}

export function initExport(): RunView {
  const view = new RunView({
    prefix: "export",
    kinds: ["export"],
    start: "export-start",
    abort: "export-abort",
    onState: (s) => {
      $("export-result").textContent = s.result?.path ?? "";
      $("export-result-line").hidden = !s.result?.path;
    },
  });
  const show = (msg: string | undefined) => view.error(msg);
  $("export-preview").addEventListener("click", async () => {
    try {
      const got = await call<{ command: string; yaml: string; error?: string }>("/api/command", {
        kind: "export",
        values: exportValues(),
      });
      $("export-command").textContent = `${got.command}\n\n# config.yaml\n${got.yaml}`;
      $("export-command").hidden = false;
      show(got.error);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("export-start").addEventListener("click", async () => {
    try {
      await call("/api/runs", { kind: "export", values: exportValues() });
      show(undefined);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("export-abort").addEventListener("click", () => {
    call("/api/runs/abort", {}).catch((e) => show((e as Error).message));
  });
  showMessage($("export-error"), undefined);
  return view;
}
