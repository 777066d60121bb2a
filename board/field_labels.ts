// Human labels of the config keys the board shows, English and Chinese (LlamaFactory's own wording
// where it has one), with the schema's description in Chinese. The board still prints the key
// beside each label, because LlamaFactory users match fields to YAML keys.
// tests/board/field_labels_test.ts fails when a schema key has no entry or an entry is stale.
import type { FieldInfo } from "../core/config/mod.ts";
import type { Lang } from "./i18n.ts";

export interface FieldLabel {
  readonly en: string;
  readonly zh: string;
  /** The schema's description in Chinese; the English one is the field's description. */
  readonly zh_info?: string;
}

export const FIELD_LABELS: Readonly<Record<string, FieldLabel>> = {
  // Model.
  model_name_or_path: {
    en: "Model path",
    zh: "模型路径",
    zh_info: "本地 Hugging Face 模型目录（config.json、*.safetensors、分词器文件）",
  },
  adapter_name_or_path: {
    en: "Adapter path",
    zh: "适配器路径",
    zh_info: "在模型之上加载的 PEFT 格式 LoRA 适配器目录；多个用逗号分隔",
  },
  train_from_scratch: {
    en: "Train from scratch",
    zh: "从头训练",
    zh_info: "仅用目录中的 config.json，从随机权重开始训练",
  },
  quantization_method: {
    en: "Quantization method",
    zh: "量化方法",
    zh_info: "quantization_bit 使用的即时量化算法（bitsandbytes）",
  },
  quantization_bit: {
    en: "Quantization bit",
    zh: "量化等级",
    zh_info: "以 4 或 8 位在 GPU 上存储冻结的解码层权重（QLoRA，仅 lora）",
  },
  quantization_type: {
    en: "4-bit quantization type",
    zh: "4 位量化类型",
    zh_info: "4 位量化的编码：NormalFloat 或 FP4",
  },
  double_quantization: {
    en: "Double quantization",
    zh: "双重量化",
    zh_info: "将 4 位量化块的缩放系数再量化为 8 位（嵌套量化）",
  },
  trust_remote_code: {
    en: "Trust remote code",
    zh: "信任远程代码",
    zh_info: "仅为兼容而接受：llamaforge 从不运行模型附带的代码，模型族由插件提供",
  },
  // Data.
  template: { en: "Chat template", zh: "对话模板", zh_info: "将对话构建为提示词时使用的模板" },
  dataset: {
    en: "Datasets",
    zh: "数据集",
    zh_info: "dataset_info.json 中的训练数据集名称；多个用逗号分隔",
  },
  eval_dataset: {
    en: "Evaluation datasets",
    zh: "验证数据集",
    zh_info: "dataset_info.json 中的验证数据集名称",
  },
  dataset_dir: {
    en: "Data folder",
    zh: "数据路径",
    zh_info: "存放 dataset_info.json 和数据文件的目录",
  },
  cutoff_len: { en: "Cutoff length", zh: "截断长度", zh_info: "单个样本分词后的最大 token 数" },
  train_on_prompt: {
    en: "Train on prompt",
    zh: "学习提示词",
    zh_info: "提示词部分也计算损失（不添加掩码）",
  },
  mask_history: {
    en: "Mask history",
    zh: "不学习历史对话",
    zh_info: "仅学习最后一轮对话，之前的轮次添加掩码",
  },
  mix_strategy: {
    en: "Mix strategy",
    zh: "数据混合策略",
    zh_info: "多个数据集的混合方式：拼接，或交错采样直到第一个（under）或全部（over）数据集用尽",
  },
  interleave_probs: {
    en: "Interleave probabilities",
    zh: "交错采样概率",
    zh_info: "交错采样时各数据集的采样概率；用逗号分隔，总和为 1",
  },
  overwrite_cache: {
    en: "Overwrite cache",
    zh: "覆盖缓存",
    zh_info: "重新构建分词后的数据集缓存，而不是复用",
  },
  max_samples: {
    en: "Max samples",
    zh: "最大样本数",
    zh_info: "每个数据集的最大样本数（用于快速试跑）",
  },
  val_size: {
    en: "Validation size",
    zh: "验证集比例",
    zh_info: "从训练样本中留作验证的比例（[0, 1)）或数量（>= 1 的整数）",
  },
  packing: {
    en: "Packing",
    zh: "序列打包",
    zh_info: "将多个样本打包为长度为 cutoff_len 的序列（pt 默认开启）",
  },
  neat_packing: {
    en: "Neat packing",
    zh: "使用无污染打包",
    zh_info: "打包后的样本之间不产生交叉注意力",
  },
  tokenized_path: {
    en: "Tokenized data path",
    zh: "分词数据路径",
    zh_info: "保存分词后数据集的目录，已存在时从中加载",
  },
  enable_thinking: {
    en: "Enable thinking",
    zh: "启用思考模式",
    zh_info: "推理类模板保留其思考部分",
  },
  identity_name: {
    en: "Identity name",
    zh: "身份名称",
    zh_info: "llamaforge：用此值填充 identity 数据中的 {{name}} 占位符（LlamaFactory 保留原样）",
  },
  identity_author: {
    en: "Identity author",
    zh: "身份作者",
    zh_info: "llamaforge：用此值填充 identity 数据中的 {{author}} 占位符",
  },
  // Training.
  do_train: { en: "Run training", zh: "执行训练", zh_info: "运行训练" },
  do_eval: { en: "Run evaluation", zh: "执行评估", zh_info: "在验证集上运行评估" },
  do_predict: { en: "Run prediction", zh: "执行预测", zh_info: "为验证集生成预测结果" },
  predict_with_generate: {
    en: "Predict with generate",
    zh: "生成式预测",
    zh_info: "预测时逐词生成（而非教师强制）",
  },
  output_dir: {
    en: "Output folder",
    zh: "输出目录",
    zh_info: "保存检查点、适配器或模型以及日志的目录",
  },
  overwrite_output_dir: {
    en: "Overwrite output folder",
    zh: "覆盖输出目录",
    zh_info: "允许写入已有文件的 output_dir",
  },
  resume_from_checkpoint: {
    en: "Resume from checkpoint",
    zh: "断点续训",
    zh_info: "从该检查点目录继续训练",
  },
  per_device_train_batch_size: {
    en: "Batch size",
    zh: "批处理大小",
    zh_info: "梯度累积前每个训练步的样本数",
  },
  per_device_eval_batch_size: {
    en: "Eval batch size",
    zh: "验证批处理大小",
    zh_info: "每个评估步的样本数",
  },
  gradient_accumulation_steps: {
    en: "Gradient accumulation",
    zh: "梯度累积",
    zh_info: "累加梯度的步数，之后更新一次",
  },
  learning_rate: { en: "Learning rate", zh: "学习率", zh_info: "优化器的峰值学习率" },
  num_train_epochs: {
    en: "Epochs",
    zh: "训练轮数",
    zh_info: "遍历训练集的次数（可为小数）",
  },
  max_steps: {
    en: "Max steps",
    zh: "最大步数",
    zh_info: "优化器更新总次数；大于 0 时覆盖 num_train_epochs",
  },
  lr_scheduler_type: {
    en: "LR scheduler",
    zh: "学习率调节器",
    zh_info: "学习率调度方式（linear、cosine、constant 等）",
  },
  warmup_ratio: { en: "Warmup ratio", zh: "预热比例", zh_info: "学习率预热占总步数的比例" },
  warmup_steps: {
    en: "Warmup steps",
    zh: "预热步数",
    zh_info: "学习率预热的步数；大于 0 时覆盖 warmup_ratio",
  },
  optim: { en: "Optimizer", zh: "优化器", zh_info: "优化器名称（adamw_torch 即 AdamW）" },
  weight_decay: { en: "Weight decay", zh: "权重衰减", zh_info: "AdamW 的解耦权重衰减" },
  adam_beta1: { en: "Adam beta1", zh: "Adam 一阶系数", zh_info: "AdamW 一阶矩的衰减率" },
  adam_beta2: { en: "Adam beta2", zh: "Adam 二阶系数", zh_info: "AdamW 二阶矩的衰减率" },
  adam_epsilon: { en: "Adam epsilon", zh: "Adam 稳定项", zh_info: "AdamW 分母中的 epsilon" },
  max_grad_norm: {
    en: "Max gradient norm",
    zh: "最大梯度范数",
    zh_info: "将全局梯度范数裁剪到该值（0 表示不裁剪）",
  },
  seed: { en: "Random seed", zh: "随机种子", zh_info: "用于初始化、打乱、划分和采样的随机种子" },
  logging_steps: { en: "Logging steps", zh: "日志间隔", zh_info: "每隔多少次更新记录一次损失" },
  save_strategy: { en: "Save strategy", zh: "保存策略", zh_info: "何时保存检查点" },
  save_steps: { en: "Save steps", zh: "保存间隔", zh_info: "每隔多少次更新保存一次检查点" },
  save_total_limit: {
    en: "Max checkpoints",
    zh: "最多检查点数",
    zh_info: "最多保留的检查点数量（删除最旧的）",
  },
  eval_strategy: { en: "Eval strategy", zh: "评估策略", zh_info: "训练中何时评估" },
  eval_steps: {
    en: "Eval steps",
    zh: "评估间隔",
    zh_info: "每隔多少次更新评估一次（默认等于 logging_steps）",
  },
  plot_loss: { en: "Plot loss", zh: "绘制损失曲线", zh_info: "将训练损失曲线保存到 output_dir" },
  gradient_checkpointing: {
    en: "Gradient checkpointing",
    zh: "梯度检查点",
    zh_info: "反向传播时重新计算激活值以节省显存",
  },
  disable_gradient_checkpointing: {
    en: "Disable gradient checkpointing",
    zh: "禁用梯度检查点",
    zh_info: "关闭 LlamaFactory 默认开启的激活值检查点",
  },
  bf16: {
    en: "BF16 mixed precision",
    zh: "bf16 混合精度",
    zh_info: "在适配器支持时使用 bfloat16 权重的混合精度",
  },
  fp16: {
    en: "FP16 mixed precision",
    zh: "fp16 混合精度",
    zh_info: "使用 float16 计算的混合精度（需要 shader-f16）",
  },
  report_to: {
    en: "Report to",
    zh: "启用外部记录面板",
    zh_info: "实验记录工具；llamaforge 写入 trainer_log.jsonl，因此为 none",
  },
  // Finetuning.
  stage: {
    en: "Stage",
    zh: "训练阶段",
    zh_info: "训练阶段：预训练、指令监督微调、奖励模型训练、PPO、DPO 或 KTO",
  },
  finetuning_type: {
    en: "Finetuning method",
    zh: "微调方法",
    zh_info: "训练哪些参数：LoRA 适配器、最后若干层（freeze）或全部参数（full）",
  },
  lora_rank: { en: "LoRA rank", zh: "LoRA 秩", zh_info: "LoRA 矩阵的秩大小" },
  lora_alpha: {
    en: "LoRA alpha",
    zh: "LoRA 缩放系数",
    zh_info: "LoRA 缩放系数的分子（默认为 lora_rank * 2）",
  },
  lora_dropout: { en: "LoRA dropout", zh: "LoRA 随机丢弃", zh_info: "LoRA 分支输入的随机丢弃概率" },
  lora_target: {
    en: "LoRA modules",
    zh: "LoRA 作用模块",
    zh_info: "应用 LoRA 的模块名称，或 all 表示全部线性层",
  },
  additional_target: {
    en: "Additional modules",
    zh: "附加模块",
    zh_info: "除 LoRA 层以外全量训练并随适配器保存的模块",
  },
  loraplus_lr_ratio: {
    en: "LoRA+ LR ratio",
    zh: "LoRA+ 学习率比例",
    zh_info: "LoRA+ 中 B 矩阵相对 A 矩阵的学习率倍数",
  },
  loraplus_lr_embedding: {
    en: "LoRA+ embedding LR",
    zh: "LoRA+ 嵌入层学习率",
    zh_info: "LoRA+ 中嵌入层适配器的学习率",
  },
  use_rslora: {
    en: "Use rsLoRA",
    zh: "使用 rslora",
    zh_info: "秩稳定的 LoRA 缩放 alpha / sqrt(rank)",
  },
  use_dora: { en: "Use DoRA", zh: "使用 DoRA", zh_info: "使用权重分解的 LoRA（DoRA）" },
  pissa_init: {
    en: "Use PiSSA",
    zh: "使用 PiSSA",
    zh_info: "用主奇异向量初始化 LoRA（PiSSA）",
  },
  pissa_iter: {
    en: "PiSSA iterations",
    zh: "PiSSA 迭代次数",
    zh_info: "PiSSA 初始化的快速 SVD 迭代次数（-1：精确 SVD）",
  },
  pissa_convert: {
    en: "Convert PiSSA",
    zh: "转换 PiSSA",
    zh_info: "将训练好的 PiSSA 适配器转换为普通 LoRA 适配器",
  },
  create_new_adapter: {
    en: "Create new adapter",
    zh: "新建适配器",
    zh_info: "在 adapter_name_or_path 之上新建一个适配器",
  },
  freeze_trainable_layers: {
    en: "Trainable layers",
    zh: "可训练层数",
    zh_info: "部分参数微调：训练最后 n 层（正数）或最前 n 层（负数）",
  },
  freeze_trainable_modules: {
    en: "Trainable modules",
    zh: "可训练模块",
    zh_info: "部分参数微调：这些层中参与训练的模块，或 all",
  },
  freeze_extra_modules: {
    en: "Extra modules",
    zh: "额外模块",
    zh_info: "部分参数微调：隐藏层以外也参与训练的模块",
  },
  pref_beta: {
    en: "Beta",
    zh: "Beta 参数",
    zh_info: "偏好损失中的 beta（DPO、KTO、ORPO、SimPO）",
  },
  pref_ftx: { en: "Ftx gamma", zh: "Ftx 权重", zh_info: "加到 DPO 损失上的监督损失权重" },
  use_galore: {
    en: "Use GaLore",
    zh: "使用 GaLore",
    zh_info: "使用 GaLore 优化器（全参数或冻结微调）",
  },
  galore_target: {
    en: "GaLore modules",
    zh: "GaLore 作用模块",
    zh_info: "应用 GaLore 的模块名称，all 表示全部线性层。使用英文逗号分隔多个名称",
  },
  galore_rank: { en: "GaLore rank", zh: "GaLore 秩", zh_info: "GaLore 梯度投影的秩大小" },
  galore_update_interval: {
    en: "Update interval",
    zh: "更新间隔",
    zh_info: "相邻两次投影更新（一次 SVD）的步数",
  },
  galore_scale: {
    en: "GaLore scale",
    zh: "GaLore 缩放系数",
    zh_info: "投影回原空间后更新量的缩放系数",
  },
  galore_proj_type: {
    en: "Projection type",
    zh: "投影类型",
    zh_info: "GaLore 投影类型（仅支持 std）",
  },
  galore_layerwise: {
    en: "Layer-wise updates",
    zh: "逐层更新",
    zh_info: "在反向传播中逐层更新以节省显存（未实现）",
  },
  pref_loss: { en: "Loss type", zh: "损失类型", zh_info: "dpo 阶段使用的偏好损失" },
  dpo_label_smoothing: {
    en: "DPO label smoothing",
    zh: "DPO 标签平滑",
    zh_info: "鲁棒 DPO 的标签平滑系数，范围 [0, 0.5]",
  },
  kto_chosen_weight: {
    en: "KTO chosen weight",
    zh: "KTO 正样本权重",
    zh_info: "KTO 中期望样本的权重",
  },
  kto_rejected_weight: {
    en: "KTO rejected weight",
    zh: "KTO 负样本权重",
    zh_info: "KTO 中非期望样本的权重",
  },
  simpo_gamma: { en: "SimPO gamma", zh: "SimPO 奖励间隔", zh_info: "SimPO 的目标奖励间隔" },
  ref_model: {
    en: "Reference model",
    zh: "参考模型",
    zh_info: "DPO/PPO 的参考模型目录（默认为模型自身）",
  },
  ref_model_adapters: {
    en: "Reference adapters",
    zh: "参考模型适配器",
    zh_info: "参考模型的适配器目录",
  },
  reward_model: { en: "Reward model", zh: "奖励模型", zh_info: "奖励模型目录（PPO 必填）" },
  reward_model_adapters: {
    en: "Reward adapters",
    zh: "奖励模型适配器",
    zh_info: "奖励模型的适配器目录",
  },
  reward_model_type: {
    en: "Reward model type",
    zh: "奖励模型类型",
    zh_info: "PPO 奖励模型是 LoRA 适配器还是完整模型",
  },
  ppo_buffer_size: {
    en: "PPO buffer size",
    zh: "PPO 缓冲区大小",
    zh_info: "一个 PPO 经验缓冲区中的小批次数",
  },
  ppo_epochs: { en: "PPO epochs", zh: "PPO 轮数", zh_info: "每个 PPO 步的优化轮数" },
  ppo_score_norm: { en: "Score norm", zh: "归一化分数", zh_info: "PPO 训练中归一化奖励分数" },
  ppo_target: { en: "PPO target KL", zh: "PPO 目标 KL", zh_info: "PPO 自适应 KL 控制的目标 KL 值" },
  ppo_whiten_rewards: {
    en: "Whiten rewards",
    zh: "白化奖励",
    zh_info: "计算优势前对奖励做白化处理",
  },
  // Generating.
  do_sample: { en: "Sampling", zh: "采样生成", zh_info: "采样下一个 token；关闭时为贪心解码" },
  temperature: { en: "Temperature", zh: "温度系数", zh_info: "采样前 logits 除以该值" },
  top_p: {
    en: "Top-p",
    zh: "Top-p 采样值",
    zh_info: "核采样：保留累计概率达到该值的最小 token 集合",
  },
  top_k: {
    en: "Top-k",
    zh: "Top-k 采样数",
    zh_info: "只保留概率最高的 k 个 token（0 表示不限制）",
  },
  max_length: {
    en: "Max length",
    zh: "最大总长度",
    zh_info: "提示词加回复的最大长度（max_new_tokens <= 0 时生效）",
  },
  max_new_tokens: { en: "Max new tokens", zh: "最大生成长度", zh_info: "最多生成的 token 数" },
  repetition_penalty: {
    en: "Repetition penalty",
    zh: "重复惩罚",
    zh_info: "对已出现 token 的惩罚（1 表示不惩罚）",
  },
  skip_special_tokens: {
    en: "Skip special tokens",
    zh: "跳过特殊 token",
    zh_info: "解码时去掉特殊 token",
  },
  default_system: {
    en: "Default system prompt",
    zh: "默认系统提示词",
    zh_info: "对话没有系统消息时使用的系统提示词",
  },
  // Evaluation.
  task: {
    en: "Task",
    zh: "评测任务",
    zh_info: "评测任务名称（task_dir 中的目录），供 eval 命令使用",
  },
  task_dir: { en: "Task folder", zh: "任务目录", zh_info: "存放评测任务的目录" },
  batch_size: { en: "Benchmark batch size", zh: "评测批处理大小", zh_info: "评测的批处理大小" },
  lang: { en: "Prompt language", zh: "提示词语言", zh_info: "评测提示词的语言" },
  n_shot: { en: "Few-shot examples", zh: "示例数量", zh_info: "每道题前展示的已解答示例数" },
  save_dir: { en: "Results folder", zh: "结果目录", zh_info: "保存评测结果的目录，必须尚不存在" },
  // Export.
  export_dir: { en: "Export folder", zh: "导出目录", zh_info: "合并后模型的写入目录" },
  export_size: {
    en: "Max shard size (GB)",
    zh: "最大分块大小（GB）",
    zh_info: "导出权重单个分片的最大大小，单位 GB",
  },
  export_device: {
    en: "Export device",
    zh: "导出设备",
    zh_info: "合并运行的位置：cpu，或 auto 表示 GPU",
  },
  export_legacy_format: {
    en: "Legacy .bin format",
    zh: "不使用 safetensors 格式",
    zh_info: "写出 .bin 文件而非 .safetensors",
  },
  export_format: { en: "Export format", zh: "导出格式", zh_info: "llamaforge：导出的文件格式" },
  export_gguf_type: {
    en: "GGUF weight type",
    zh: "GGUF 权重类型",
    zh_info: "llamaforge：GGUF 导出的权重类型（归一化层保持 f32）",
  },
  // API.
  infer_backend: {
    en: "Inference engine",
    zh: "推理引擎",
    zh_info: "推理引擎；huggingface 即 llamaforge 自己的引擎",
  },
  infer_dtype: { en: "Inference dtype", zh: "推理数据类型", zh_info: "推理时的权重和激活类型" },
  api_host: {
    en: "API host",
    zh: "API 地址",
    zh_info: "OpenAI 风格 API 服务监听的地址（环境变量 API_HOST）",
  },
  api_port: { en: "API port", zh: "API 端口", zh_info: "API 服务的端口（环境变量 API_PORT）" },
  api_key: {
    en: "API key",
    zh: "API 密钥",
    zh_info: "客户端必须发送的 Bearer 密钥（环境变量 API_KEY）",
  },
  api_model_name: {
    en: "API model name",
    zh: "API 模型名称",
    zh_info: "API 报告的模型名称（环境变量 API_MODEL_NAME）",
  },
};

/** The label of config key `key` in `lang`; the key itself when the table has no entry. */
export function fieldLabel(key: string, lang: Lang): string {
  return entry(key)?.[lang] ?? key;
}

/** The tooltip of `field` in `lang`: the Chinese description on the zh page when there is one. */
export function fieldInfo(field: FieldInfo, lang: Lang): string {
  if (lang === "zh") return entry(field.key)?.zh_info ?? field.description;
  return field.description;
}

// Own keys only, so a key such as "constructor" falls back rather than reading the prototype.
function entry(key: string): FieldLabel | undefined {
  return Object.hasOwn(FIELD_LABELS, key) ? FIELD_LABELS[key] : undefined;
}
