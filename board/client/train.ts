// The Train tab: datasets and their preview, command preview, saved arguments, and the run with
// its loss curve.
import { $, call, input, q, S, select, selectedValues, setOptions } from "./dom.ts";
import { applyValues, fieldValues, topValues } from "./form.ts";
import { LossChart } from "./loss_chart.ts";
import { RunView } from "./run_view.ts";
import { savedSelection } from "./store.ts";
import { defaultOutputs, refreshAdapters } from "./top_bar.ts";

/** The Train tab's values: top bar, the controls above the hyperparameters, changed fields. */
export function trainValues(): Record<string, string> {
  return {
    ...topValues(),
    stage: select("stage").value,
    dataset: selectedValues(select("dataset")).join(","),
    dataset_dir: input("dataset_dir").value,
    output_dir: input("output_dir").value,
    ...fieldValues($("hparams"), "key"),
  };
}

/**
 * Lists the datasets of `opts.dir` that suit `opts.stage` into `sel`, keeping its selection
 * (identity at first; the first dataset when none of the kept ones is listed).
 */
export async function loadDatasets(
  sel: HTMLSelectElement,
  opts: { dir: string; stage?: string; show: (msg: string | undefined) => void },
): Promise<void> {
  const keep = selectedValues(sel);
  try {
    const stage = opts.stage ? `&stage=${q(opts.stage)}` : "";
    const { datasets } = await call<{ datasets: string[] }>(
      `/api/datasets?dir=${q(opts.dir)}${stage}`,
    );
    let on = (keep.length ? keep : savedSelection(sel.id) ?? ["identity"])
      .filter((d) => datasets.includes(d));
    if (!on.length) on = datasets.slice(0, 1);
    setOptions(sel, datasets, { selected: on });
    opts.show(undefined);
  } catch (e) {
    opts.show((e as Error).message);
  }
}

export function initTrain(): RunView {
  const chart = new LossChart($("loss-chart"));
  const view = new RunView({
    prefix: "run",
    kinds: ["train"],
    start: "start",
    abort: "abort",
    onState: (s, status) => {
      chart.reset(s.logs);
      // A finished run's folder is taken: the next run gets a fresh one.
      if (status === "done") defaultOutputs();
      if (status === "done") refreshAdapters();
    },
    onProgress: (e) => chart.add(e),
  });
  const show = (msg: string | undefined) => view.error(msg);
  const datasets = () =>
    loadDatasets(select("dataset"), {
      dir: input("dataset_dir").value,
      stage: select("stage").value,
      show,
    });
  input("dataset_dir").addEventListener("change", datasets);
  select("stage").addEventListener("change", datasets);

  $("preview-data").addEventListener("click", async () => {
    const name = selectedValues(select("dataset"))[0] ?? "";
    const dir = q(input("dataset_dir").value);
    try {
      const got = await call<{ name: string; total: number; records: unknown[] }>(
        `/api/datasets/preview?dir=${dir}&name=${q(name)}&n=3`,
      );
      $("data-preview").textContent = `${got.name}: ${got.total}\n` +
        JSON.stringify(got.records, null, 2);
      $("data-preview").hidden = false;
    } catch (e) {
      show((e as Error).message);
    }
  });

  $("preview-cmd").addEventListener("click", async () => {
    // Hidden until the new preview arrives, so a stale one is never read as current.
    $("command").hidden = true;
    try {
      const got = await call<{ command: string; yaml: string; error?: string }>("/api/command", {
        kind: "train",
        values: trainValues(),
      });
      $("command").textContent = `${got.command}\n\n# config.yaml\n${got.yaml}`;
      $("command").hidden = false;
      show(got.error);
    } catch (e) {
      show((e as Error).message);
    }
  });

  const note = $("args-note");
  $("save-args").addEventListener("click", async () => {
    try {
      const got = await call<{ path: string }>("/api/args/save", {
        path: input("args-path").value.trim(),
        kind: "train",
        values: trainValues(),
      });
      note.textContent = `${S.args_saved} ${got.path}`;
      show(undefined);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("load-args").addEventListener("click", async () => {
    const path = input("args-path").value.trim();
    try {
      const got = await call<{ values: Record<string, unknown> }>(`/api/args/load?path=${q(path)}`);
      const ignored = applyValues(got.values);
      note.textContent = `${S.args_loaded} ${path}` +
        (ignored.length ? ` (${ignored.join(", ")}: ${S.args_ignored})` : "");
      show(undefined);
      await Promise.all([refreshAdapters(), datasets()]);
    } catch (e) {
      show((e as Error).message);
    }
  });

  $("start").addEventListener("click", async () => {
    try {
      await call("/api/runs", { kind: "train", values: trainValues() });
      show(undefined);
    } catch (e) {
      show((e as Error).message);
    }
  });
  $("abort").addEventListener("click", () => {
    call("/api/runs/abort", {}).catch((e) => show((e as Error).message));
  });
  datasets();
  return view;
}
