// Checks shared by the methods that train the model's own weights.
import type { MethodArgs } from "../../core/method/method.ts";
import type { Module } from "../../core/tensor/nn.ts";
import { quantizedPaths } from "../../core/tensor/quant_linear.ts";

/** LlamaFactory: "Adapter is only valid for the LoRA method". */
export function rejectAdapters(method: string, args: MethodArgs): void {
  if (args.adapter_name_or_path?.length) {
    throw new TypeError(
      `Cannot apply the ${method} method with adapter_name_or_path ${
        args.adapter_name_or_path.map((a) => `"${a}"`).join(", ")
      }: adapters are only valid with finetuning_type "lora"`,
    );
  }
}

/** Runs `fn`, turning a throw into a rejected promise (callers of async methods await them). */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** LlamaFactory: "Quantization is only compatible with the LoRA method". */
export function rejectQuantized(method: string, model: Module): void {
  const q = quantizedPaths(model);
  if (q.length) {
    throw new TypeError(
      `Cannot train with the ${method} method: the quantized weights are frozen ("${q[0]}" and ${
        q.length - 1
      } more); use finetuning_type: lora, or load the model without quantization_bit`,
    );
  }
}
