// Every string the board shows, English and Chinese side by side in one table, so a missing
// translation is a type error rather than a blank label. The client gets the table of the page's
// language through the body's data-i18n attribute.

export type Lang = "en" | "zh";
export const LANGS: readonly Lang[] = ["en", "zh"];

const STRINGS = {
  title: { en: "LlamaBoard", zh: "LlamaBoard" },
  subtitle: {
    en: "Fine-tune language models on any GPU through WebGPU",
    zh: "通过 WebGPU 在任意 GPU 上微调大语言模型",
  },
  language: { en: "Language", zh: "语言" },
  lang_en: { en: "English", zh: "English" },
  lang_zh: { en: "中文", zh: "中文" },
  // Top bar.
  model: { en: "Model (catalogue name or local path)", zh: "模型（目录名称或本地路径）" },
  method: { en: "Finetuning method", zh: "微调方法" },
  adapters: { en: "Adapters (checkpoints)", zh: "适配器（检查点）" },
  refresh: { en: "Refresh", zh: "刷新" },
  no_adapters: { en: "none found", zh: "未找到" },
  quantization: { en: "Quantization bit", zh: "量化位数" },
  quant_none: { en: "none", zh: "不量化" },
  template: { en: "Chat template", zh: "对话模板" },
  auto: { en: "(auto)", zh: "（自动）" },
  // Tabs.
  tab_train: { en: "Train", zh: "训练" },
  tab_eval: { en: "Evaluate & Predict", zh: "评估与预测" },
  tab_chat: { en: "Chat", zh: "对话" },
  tab_export: { en: "Export", zh: "导出" },
  // Train.
  stage: { en: "Stage", zh: "训练阶段" },
  data_dir: { en: "Data folder", zh: "数据目录" },
  dataset: { en: "Dataset", zh: "数据集" },
  preview_data: { en: "Preview dataset", zh: "预览数据集" },
  output_dir: { en: "Output folder", zh: "输出目录" },
  hyperparameters: { en: "Hyperparameters", zh: "超参数" },
  group_model: { en: "Model arguments", zh: "模型参数" },
  group_data: { en: "Data arguments", zh: "数据参数" },
  group_training: { en: "Training arguments", zh: "训练参数" },
  group_finetuning: { en: "Finetuning arguments", zh: "微调参数" },
  group_train_eval: { en: "Evaluation during training", zh: "训练中评估" },
  group_lora: { en: "LoRA arguments", zh: "LoRA 参数设置" },
  group_freeze: { en: "Freeze arguments", zh: "部分参数微调设置" },
  group_rlhf: { en: "RLHF arguments", zh: "RLHF 参数设置" },
  group_galore: { en: "GaLore arguments", zh: "GaLore 参数设置" },
  group_generating: { en: "Generation arguments", zh: "生成参数" },
  group_evaluation: { en: "Evaluation arguments", zh: "评估参数" },
  group_export: { en: "Export arguments", zh: "导出参数" },
  group_api: { en: "API arguments", zh: "API 参数" },
  preview_command: { en: "Preview command", zh: "预览命令" },
  args_path: { en: "Arguments file", zh: "参数文件" },
  save_args: { en: "Save arguments", zh: "保存参数" },
  load_args: { en: "Load arguments", zh: "载入参数" },
  args_saved: { en: "Saved to", zh: "已保存到" },
  args_loaded: { en: "Loaded from", zh: "已载入自" },
  args_ignored: { en: "not on this form", zh: "不在此表单中" },
  start: { en: "Start", zh: "开始" },
  abort: { en: "Abort", zh: "中断" },
  status: { en: "Status", zh: "状态" },
  idle: { en: "idle", zh: "空闲" },
  running: { en: "running", zh: "运行中" },
  aborting: { en: "aborting", zh: "中断中" },
  done: { en: "done", zh: "已完成" },
  failed: { en: "failed", zh: "失败" },
  aborted: { en: "aborted", zh: "已中断" },
  busy: { en: "another run is in progress", zh: "另一个任务正在运行" },
  loss: { en: "Loss", zh: "损失" },
  step: { en: "Step", zh: "步数" },
  progress: { en: "Progress", zh: "进度" },
  output: { en: "Output", zh: "输出" },
  result_path: { en: "Result", zh: "结果" },
  // Evaluate & predict.
  eval_mode: { en: "Mode", zh: "模式" },
  mode_eval: { en: "Benchmark (cli.ts eval)", zh: "基准评测（cli.ts eval）" },
  mode_predict: { en: "Predict (do_predict)", zh: "预测（do_predict）" },
  metrics: { en: "Metrics", zh: "指标" },
  metric: { en: "Metric", zh: "指标" },
  value: { en: "Value", zh: "数值" },
  // Chat.
  load_model: { en: "Load model", zh: "加载模型" },
  unload_model: { en: "Unload model", zh: "卸载模型" },
  unloaded: { en: "No model loaded", zh: "未加载模型" },
  loading: { en: "Loading…", zh: "加载中…" },
  loaded: { en: "Model loaded", zh: "模型已加载" },
  system_prompt: { en: "System prompt", zh: "系统提示词" },
  tools: { en: "Tools (JSON list, optional)", zh: "工具（JSON 列表，可选）" },
  tool_call: { en: "Tool call", zh: "工具调用" },
  message: { en: "Message", zh: "消息" },
  send: { en: "Send", zh: "发送" },
  clear: { en: "Clear history", zh: "清空历史" },
  // Export.
  export_hint: {
    en: "Merges the top bar's adapters into the model and writes an HF folder or a GGUF file.",
    zh: "将顶栏选择的适配器合并进模型，并导出为 HF 目录或 GGUF 文件。",
  },
} as const satisfies Record<string, Record<Lang, string>>;

export type StringKey = keyof typeof STRINGS;

/** The string `key` in `lang`. */
export function t(lang: Lang, key: StringKey): string {
  return STRINGS[key][lang];
}

/** `lang` when it is one the board speaks, English otherwise. */
export function pickLang(lang: string | undefined): Lang {
  return (LANGS as readonly string[]).includes(lang ?? "") ? lang as Lang : "en";
}

/** The whole table in one language, for the client script. */
export function strings(lang: Lang): Record<StringKey, string> {
  const out = {} as Record<StringKey, string>;
  for (const k of Object.keys(STRINGS) as StringKey[]) out[k] = STRINGS[k][lang];
  return out;
}
