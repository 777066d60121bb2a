// LlamaFactory keys outside the schema. `runtimeKeys` only tune its Python runtime (workers,
// DDP, CUDA kernels): accepted with a note. `unsupportedKeys` change training in ways llamaforge
// does not implement yet: accepted only at LlamaFactory's default (where they change nothing),
// otherwise an error. Never silently dropped either way.

const WORKERS = "LlamaFactory's Python worker processes; llamaforge prepares data in-process";
const DIST = "multi-process/multi-device training settings; llamaforge trains on one WebGPU device";
const TORCH = "a PyTorch/CUDA runtime switch; llamaforge runs its own WebGPU kernels";
const LOG = "a Hugging Face logging detail; llamaforge logs to trainer_log.jsonl";
const HUB = "llamaforge loads local folders only; download with the Hugging Face CLI first";

/** Key -> why it has no effect here (returned as a note). */
export const runtimeKeys: Readonly<Record<string, string>> = {
  preprocessing_num_workers: WORKERS,
  preprocessing_batch_size: WORKERS,
  dataloader_num_workers: WORKERS,
  dataloader_pin_memory: WORKERS,
  dataloader_persistent_workers: WORKERS,
  dataloader_prefetch_factor: WORKERS,
  data_shared_file_system: WORKERS,
  ddp_timeout: DIST,
  ddp_backend: DIST,
  ddp_find_unused_parameters: DIST,
  ddp_bucket_cap_mb: DIST,
  local_rank: DIST,
  deepspeed:
    "DeepSpeed ZeRO shards optimizer state over devices; on one device the update is the same",
  save_only_model: "llamaforge checkpoints always hold the model plus optimizer state",
  flash_attn: TORCH,
  tf32: TORCH,
  torch_compile: TORCH,
  use_reentrant_gc: TORCH,
  gradient_checkpointing_kwargs: TORCH,
  half_precision_backend: TORCH,
  low_cpu_mem_usage: TORCH,
  offload_folder: TORCH,
  use_kv_cache: "llamaforge always generates with a KV cache",
  use_fast_tokenizer: "llamaforge always uses the tokenizer.json (fast) tokenizer",
  cache_dir: HUB,
  logging_dir: LOG,
  logging_first_step: LOG,
  logging_nan_inf_filter: LOG,
  log_level: LOG,
  log_level_replica: LOG,
  log_on_each_node: LOG,
  run_name: LOG,
  disable_tqdm: LOG,
  print_param_status: LOG,
  include_num_input_tokens_seen: LOG,
  include_tokens_per_second: LOG,
  include_effective_tokens_per_second: LOG,
  remove_unused_columns:
    "a Hugging Face Trainer column filter; llamaforge batches only what it needs",
};

export interface Unsupported {
  /** LlamaFactory's default: the value at which the key changes nothing. */
  readonly inert: unknown;
  readonly reason: string;
}

const QUANT = "only the trained model is quantized (QLoRA's quantization_bit) in llamaforge";
const GPTQ = "export quantization (GPTQ) is not implemented; export GGUF q8_0 instead";
const MM = "multimodal models are not supported yet";
const VLLM = "llamaforge has its own WebGPU inference engine";
const OFT = "OFT is not implemented yet";
const GALORE = "the APOLLO and BAdam optimizers are not implemented yet";
const TOKENS = "changing the tokenizer vocabulary is not supported yet";

function u(inert: unknown, reason: string): Unsupported {
  return { inert, reason };
}

/** Key -> its inert value and why other values fail. */
export const unsupportedKeys: Readonly<Record<string, Unsupported>> = {
  // model
  quantization_device_map: u(null, DIST),
  ref_model_quantization_bit: u(null, QUANT),
  reward_model_quantization_bit: u(null, QUANT),
  export_quantization_bit: u(null, GPTQ),
  export_quantization_dataset: u(null, GPTQ),
  export_quantization_nsamples: u(128, GPTQ),
  export_quantization_maxlen: u(1024, GPTQ),
  fp8: u(false, "FP8 training is not supported"),
  rope_scaling: u(null, "RoPE scaling of the context is not implemented yet"),
  shift_attn: u(false, "LongLoRA shift-short attention is not implemented"),
  mixture_of_depths: u(null, "mixture-of-depths conversion is not implemented"),
  use_unsloth: u(false, "Unsloth is a CUDA library"),
  use_unsloth_gc: u(false, "Unsloth is a CUDA library"),
  enable_liger_kernel: u(false, "Liger kernels are CUDA (Triton) kernels"),
  use_v1_kernels: u(false, "LlamaFactory's v1 kernels are CUDA kernels"),
  moe_aux_loss_coef: u(null, "the MoE router auxiliary loss is not implemented yet"),
  upcast_layernorm: u(false, "norms always compute in f32 in llamaforge"),
  upcast_lmhead_output: u(false, "the LM head output precision is fixed in llamaforge"),
  resize_vocab: u(false, TOKENS),
  split_special_tokens: u(false, TOKENS),
  add_tokens: u(null, TOKENS),
  add_special_tokens: u(null, TOKENS),
  new_special_tokens_config: u(null, TOKENS),
  init_special_tokens: u("noise_init", TOKENS),
  model_revision: u("main", HUB),
  adapter_folder: u(null, "use adapter_name_or_path"),
  hf_hub_token: u(null, HUB),
  ms_hub_token: u(null, HUB),
  om_hub_token: u(null, HUB),
  export_hub_model_id: u(null, HUB),
  push_to_hub: u(false, HUB),
  hub_model_id: u(null, HUB),
  image_max_pixels: u(768 * 768, MM),
  image_min_pixels: u(32 * 32, MM),
  video_max_pixels: u(256 * 256, MM),
  video_min_pixels: u(16 * 16, MM),
  video_fps: u(2, MM),
  video_maxlen: u(128, MM),
  freeze_vision_tower: u(true, MM),
  freeze_multi_modal_projector: u(true, MM),
  freeze_language_model: u(false, MM),
  vllm_maxlen: u(4096, VLLM),
  vllm_gpu_util: u(0.7, VLLM),
  vllm_enforce_eager: u(false, VLLM),
  vllm_max_lora_rank: u(32, VLLM),
  vllm_config: u(null, VLLM),
  sglang_maxlen: u(4096, VLLM),
  sglang_mem_fraction: u(0.7, VLLM),
  sglang_config: u(null, VLLM),
  use_kt: u(false, VLLM),
  // data
  streaming: u(false, "streaming datasets are not supported yet"),
  buffer_size: u(16384, "streaming datasets are not supported yet"),
  media_dir: u(null, MM),
  tool_format: u(null, "tool formats come from the template in llamaforge"),
  eval_num_beams: u(null, "beam search is not implemented"),
  ignore_pad_token_for_loss: u(true, "padding is always left out of the loss"),
  eval_on_each_dataset: u(false, "evaluation merges the eval datasets"),
  // finetuning
  oft_rank: u(0, OFT),
  oft_block_size: u(32, OFT),
  oft_target: u("all", OFT),
  module_dropout: u(0, OFT),
  ld_alpha: u(null, "LD-DPO is not implemented"),
  use_apollo: u(false, GALORE),
  use_badam: u(false, GALORE),
  use_adam_mini: u(false, "the Adam-mini optimizer is not implemented"),
  use_muon: u(false, "the Muon optimizer is not implemented"),
  use_llama_pro: u(false, "LLaMA Pro block expansion is not implemented"),
  use_dft_loss: u(false, "the DFT loss is not implemented"),
  use_mca: u(false, "Megatron Core is a CUDA library"),
  use_swanlab: u(false, "llamaforge logs to trainer_log.jsonl and the board"),
  pure_bf16: u(false, "pure bf16 training (no f32 master weights) is not supported"),
  compute_accuracy: u(false, "token accuracy at evaluation is not implemented yet"),
  disable_shuffling: u(false, "the training set is always shuffled with seed"),
  early_stopping_steps: u(null, "early stopping is not implemented yet"),
  // trainer
  fsdp: u("", DIST),
  fsdp_config: u(null, DIST),
  ray_run_name: u(null, DIST),
  ray_num_workers: u(1, DIST),
  use_cpu: u(false, "llamaforge always trains on the WebGPU adapter"),
  lr_scheduler_kwargs: u(null, "scheduler options beyond the listed keys are not supported"),
  optim_args: u(null, "optimizer options beyond the listed keys are not supported"),
  logging_strategy: u("steps", "logging happens every logging_steps"),
  load_best_model_at_end: u(false, "keeping the best checkpoint is not implemented yet"),
  metric_for_best_model: u(null, "keeping the best checkpoint is not implemented yet"),
  label_smoothing_factor: u(0, "label smoothing is not implemented yet"),
  neftune_noise_alpha: u(null, "NEFTune embedding noise is not implemented yet"),
  group_by_length: u(false, "length-grouped batching is not implemented yet"),
  auto_find_batch_size: u(false, "automatic batch-size search is not implemented"),
  dataloader_drop_last: u(false, "the last partial batch is always kept"),
  data_seed: u(null, "seed drives data order too"),
  eval_accumulation_steps: u(null, "evaluation outputs are not accumulated on the GPU"),
  save_safetensors: u(true, "checkpoints are always safetensors"),
  generation_max_length: u(null, "use max_new_tokens"),
  generation_num_beams: u(null, "beam search is not implemented"),
  // generating
  num_beams: u(1, "beam search is not implemented"),
  length_penalty: u(1, "length penalty applies to beam search, which is not implemented"),
  // evaluation
  download_mode: u("reuse_dataset_if_exists", HUB),
};
