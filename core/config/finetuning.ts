// Fine-tuning arguments (LlamaFactory's hparams/finetuning_args.py): stage, method, LoRA,
// freeze and preference-training keys.
import { z } from "zod";
import { bool, choice, float, int, list, str } from "./_field.ts";

export const finetuningArgs = z.strictObject({
  stage: choice(
    "sft",
    "Training stage: pre-training, supervised fine-tuning, reward modelling, PPO, DPO or KTO",
    { choices: ["pt", "sft", "rm", "ppo", "dpo", "kto"] },
  ),
  finetuning_type: choice(
    "lora",
    "Which parameters train: LoRA adapters, the last layers (freeze) or all of them (full)",
    {
      choices: ["lora", "oft", "freeze", "full"],
      unsupported: { oft: "orthogonal fine-tuning (OFT) is not implemented yet; use lora" },
    },
  ),
  lora_rank: int(8, "Rank of the LoRA update matrices", { min: 1 }),
  lora_alpha: int(undefined, "LoRA scale numerator (defaults to lora_rank * 2)", { min: 1 }),
  lora_dropout: float(0, "Dropout on the LoRA branch input", { min: 0, lt: 1 }),
  lora_target: list(["all"], 'Module names that get LoRA adapters, or "all" linear layers'),
  additional_target: list(
    undefined,
    "Modules besides the LoRA layers that train fully and are saved with the adapter",
  ),
  loraplus_lr_ratio: float(undefined, "LoRA+: learning-rate ratio of B over A", { gt: 0 }),
  loraplus_lr_embedding: float(1e-6, "LoRA+: learning rate of embedding adapters", { min: 0 }),
  use_rslora: bool(false, "Rank-stabilised LoRA scale alpha / sqrt(rank)"),
  use_dora: bool(false, "Weight-decomposed LoRA (DoRA)"),
  pissa_init: bool(false, "Initialise LoRA from the principal singular vectors (PiSSA)"),
  pissa_iter: int(16, "Fast SVD iterations of the PiSSA initialisation (-1: exact SVD)", {
    min: -1,
  }),
  pissa_convert: bool(false, "Convert a trained PiSSA adapter into a plain LoRA adapter"),
  create_new_adapter: bool(false, "Start a fresh adapter on top of adapter_name_or_path"),
  freeze_trainable_layers: int(
    2,
    "Freeze tuning: train the last n layers (positive) or the first n (negative)",
  ),
  freeze_trainable_modules: list(
    ["all"],
    'Freeze tuning: modules of those layers that train, or "all"',
  ),
  freeze_extra_modules: list(
    undefined,
    "Freeze tuning: modules outside the layers that also train",
  ),
  pref_beta: float(0.1, "Beta of the preference loss (DPO, KTO, ORPO, SimPO)", { min: 0 }),
  pref_ftx: float(0, "Weight of the supervised loss added to the DPO loss", { min: 0 }),
  pref_loss: choice("sigmoid", "Preference loss used by the dpo stage", {
    choices: ["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"],
  }),
  dpo_label_smoothing: float(0, "Robust DPO label smoothing, in [0, 0.5]", { min: 0, max: 0.5 }),
  kto_chosen_weight: float(1, "KTO weight of desirable examples", { min: 0 }),
  kto_rejected_weight: float(1, "KTO weight of undesirable examples", { min: 0 }),
  simpo_gamma: float(0.5, "SimPO target reward margin"),
  use_galore: bool(false, "GaLore: Adam on low-rank projections of the gradients (full/freeze)"),
  galore_target: list(["all"], 'GaLore: Linear module names whose weights are projected, or "all"'),
  galore_rank: int(16, "GaLore: rank of the gradient projection", { min: 1 }),
  galore_update_interval: int(200, "GaLore: steps between projection updates (an SVD)", {
    min: 1,
  }),
  galore_scale: float(2, "GaLore: scale of the projected-back update", { gt: 0 }),
  galore_proj_type: choice("std", "GaLore: projection type", {
    choices: ["std", "reverse_std", "right", "left", "full"],
    unsupported: {
      reverse_std: "only the std GaLore projection is implemented",
      right: "only the std GaLore projection is implemented",
      left: "only the std GaLore projection is implemented",
      full: "only the std GaLore projection is implemented",
    },
  }),
  galore_layerwise: bool(false, "GaLore: update layer by layer during backward (not supported)"),
  ref_model: str(undefined, "Reference model folder for DPO/PPO (defaults to the model itself)"),
  ref_model_adapters: str(undefined, "Adapter folder(s) of the reference model"),
  reward_model: str(undefined, "Reward model folder (required by PPO)"),
  reward_model_adapters: str(undefined, "Adapter folder(s) of the reward model"),
  reward_model_type: choice(
    "lora",
    "Whether the PPO reward model is a LoRA adapter or a full model",
    {
      choices: ["lora", "full", "api"],
      unsupported: { api: "a reward model behind an HTTP API is not supported" },
    },
  ),
  ppo_buffer_size: int(1, "Mini-batches in one PPO experience buffer", { min: 1 }),
  ppo_epochs: int(4, "Optimisation epochs per PPO step", { min: 1 }),
  ppo_score_norm: bool(false, "Normalise PPO scores"),
  ppo_target: float(6, "Target KL of PPO's adaptive KL control"),
  ppo_whiten_rewards: bool(false, "Whiten rewards before computing advantages"),
});
