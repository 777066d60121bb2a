/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// LlamaBoard's client, bundled by board/bundle.ts: the server renders every form; these modules
// wire the top bar, the four tabs and the run events.
import { initChat } from "./chat.ts";
import { select } from "./dom.ts";
import { initEval } from "./eval.ts";
import { connectRuns, onRun } from "./events.ts";
import { initExport } from "./export.ts";
import { initStore } from "./store.ts";
import { initTabs, showTab } from "./tabs.ts";
import {
  autoTemplate,
  defaultOutputs,
  initTopBar,
  onTopBarError,
  refreshAdapters,
} from "./top_bar.ts";
import { initTrain } from "./train.ts";

initStore();
initTabs();
initTopBar();
const train = initTrain();
initEval();
initExport();
initChat();
onTopBarError((msg) => train.error(msg));
defaultOutputs();
refreshAdapters();
if (!select("template").value) autoTemplate();

// A run in progress when the page (re)loads brings its tab forward.
let first = true;
onRun({
  state(s) {
    if (first && s.status !== "idle" && s.kind) {
      showTab(s.kind === "train" ? "train" : s.kind === "export" ? "export" : "eval");
    }
    first = false;
  },
  progress() {},
  output() {},
});
connectRuns();
document.body.dataset.ready = "true";
