// Model arguments (LlamaFactory's hparams/model_args.py, the keys llamaforge implements).
import { z } from "zod";
import { bool, choice, intChoice, list, str } from "./_field.ts";

const NOT_BNB = "llamaforge quantizes on load the way bitsandbytes does; use bnb";
// LlamaFactory's other QuantizationMethod values (pre-quantized checkpoints, other libraries).
const OTHER_QUANT = ["gptq", "awq", "aqlm", "quanto", "eetq", "hqq"] as const;

export const modelArgs = z.strictObject({
  model_name_or_path: str(
    undefined,
    "Local Hugging Face model folder (config.json, *.safetensors, tokenizer files) to train or run",
  ),
  adapter_name_or_path: list(
    undefined,
    "LoRA adapter folder(s) in PEFT's layout to load on top of the model; commas separate several",
  ),
  train_from_scratch: bool(
    false,
    "Start from random weights (HF's initializer_range) using only the folder's config.json",
  ),
  quantization_method: choice(
    "bnb",
    "On-the-fly quantization method of quantization_bit (bitsandbytes)",
    {
      choices: ["bnb", ...OTHER_QUANT],
      unsupported: Object.fromEntries(OTHER_QUANT.map((m) => [m, NOT_BNB])),
    },
  ),
  quantization_bit: intChoice(
    undefined,
    "Store the frozen decoder-layer weights in 4 or 8 bits on the GPU (QLoRA; lora only)",
    [8, 4],
  ),
  quantization_type: choice("nf4", "4-bit code of quantization_bit 4: NormalFloat or FP4", {
    choices: ["nf4", "fp4"],
  }),
  double_quantization: bool(
    true,
    "Also quantize the 4-bit blocks' scales to 8 bits (bitsandbytes' nested quantization)",
  ),
  trust_remote_code: bool(
    false,
    "Accepted for compatibility: llamaforge never runs code shipped with a model; families are plugins",
  ),
});
