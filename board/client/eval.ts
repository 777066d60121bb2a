// The Evaluate & Predict tab: a benchmark (`cli.ts eval`) or generated predictions (do_predict),
// run as a child like training, then the metrics it wrote as a table.
import { $, call, input, q, select, showMessage } from "./dom.ts";
import { fieldValues, topValues } from "./form.ts";
import { RunView } from "./run_view.ts";
import { loadDatasets } from "./train.ts";
import type { RunKind, RunState } from "./types.ts";

function mode(): RunKind {
  return select("eval-mode").value === "predict" ? "predict" : "eval";
}

function evalValues(): Record<string, string> {
  const kind = mode();
  return { ...topValues(), ...fieldValues($(`eval-fields-${kind}`), "field") };
}

function showMode(): void {
  const kind = mode();
  $("eval-fields-eval").hidden = kind !== "eval";
  $("eval-fields-predict").hidden = kind !== "predict";
}

function showMetrics(s: RunState): void {
  const body = $("eval-metrics").querySelector("tbody")!;
  const metrics = s.result?.metrics ?? {};
  body.replaceChildren(
    ...Object.entries(metrics).map(([k, v]) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      const value = document.createElement("td");
      name.textContent = k;
      value.textContent = Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, "");
      tr.append(name, value);
      return tr;
    }),
  );
  $("eval-result").textContent = s.result?.path ?? "";
  // Nothing to show before a run has results: no empty table or label.
  const shown = Object.keys(metrics).length > 0;
  $("eval-metrics").hidden = $("eval-metrics-title").hidden = !shown;
  $("eval-result-line").hidden = !s.result?.path;
}

async function loadTasks(show: (msg: string | undefined) => void): Promise<void> {
  try {
    const { tasks } = await call<{ tasks: string[] }>(
      `/api/tasks?dir=${q(input("eval_task_dir").value)}`,
    );
    $("eval-tasks").replaceChildren(...tasks.map((t) => new Option(t, t)));
    const task = input("eval_task");
    if (!task.value && tasks.length) {
      task.value = tasks.find((t) => t.endsWith("_test")) ?? tasks[0];
    }
  } catch (e) {
    show((e as Error).message);
  }
}

export function initEval(): RunView {
  const view = new RunView({
    prefix: "eval",
    kinds: ["eval", "predict"],
    start: "eval-start",
    abort: "eval-abort",
    onState: (s, status) => {
      // The mode of the run shown, so a reload mid-run shows its fields.
      if (s.kind === "eval" || s.kind === "predict") {
        select("eval-mode").value = s.kind;
        showMode();
      }
      showMetrics(s);
      if (status === "done") {
        const stamp = new Date().toISOString().slice(0, 19).replace(/[-:T]/g, "");
        for (const id of ["eval_save_dir", "predict_output_dir"]) {
          input(id).value = input(id).value.replace(/_\d{14}$/, `_${stamp}`);
        }
      }
    },
  });
  const show = (msg: string | undefined) => view.error(msg);
  select("eval-mode").addEventListener("change", showMode);
  input("eval_task_dir").addEventListener("change", () => loadTasks(show));
  const datasets = () =>
    loadDatasets(select("predict_eval_dataset"), { dir: input("predict_dataset_dir").value, show });
  input("predict_dataset_dir").addEventListener("change", datasets);

  $("eval-preview").addEventListener("click", async () => {
    try {
      const got = await call<{ command: string; yaml: string; error?: string }>("/api/command", {
        kind: mode(),
        values: evalValues(),
      });
      $("eval-command").textContent = `${got.command}\n\n# config.yaml\n${got.yaml}`;
      $("eval-command").hidden = false;
      show(got.error);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("eval-start").addEventListener("click", async () => {
    try {
      await call("/api/runs", { kind: mode(), values: evalValues() });
      show(undefined);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("eval-abort").addEventListener("click", () => {
    call("/api/runs/abort", {}).catch((e) => show((e as Error).message));
  });
  showMode();
  loadTasks(show);
  datasets();
  showMessage($("eval-error"), undefined);
  return view;
}
