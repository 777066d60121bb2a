// LlamaFactory's quantization keys (model_args.py QuantizationArguments) as schema keys, and its
// rules for them (hparams/parser.py _verify_model_args): lora only, one adapter, no PiSSA.

import assert from "node:assert/strict";
import { configSchema, validateConfig } from "../../../core/config/mod.ts";
import { quantizationOf } from "../../../core/model/load.ts";

const MODEL = { model_name_or_path: "tests/fixtures/models/llama" };

function fails(values: Record<string, unknown>, cls: ErrorConstructor, ...parts: string[]) {
  assert.throws(() => validateConfig({ ...MODEL, ...values }), (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" lacks "${p}"`);
    return true;
  });
}

Deno.test("the quantization keys are schema keys with LlamaFactory's defaults", () => {
  const { args, notes } = validateConfig({ ...MODEL, quantization_bit: 4 });
  assert.deepEqual(notes, []);
  assert.equal(args.quantization_bit, 4);
  assert.equal(args.quantization_method, "bnb");
  assert.equal(args.quantization_type, "nf4");
  assert.equal(args.double_quantization, true);
  assert.equal(validateConfig(MODEL).args.quantization_bit, undefined);
  for (const k of ["quantization_bit", "quantization_method", "quantization_type"]) {
    assert.equal(configSchema.byKey.get(k)?.group, "model", k);
    assert.ok(!(k in configSchema.unsupportedKeys), k);
  }
  assert.deepEqual(configSchema.byKey.get("quantization_bit")?.choices, ["8", "4"]);
  // Form and command-line values arrive as text.
  const typed = validateConfig({
    ...MODEL,
    quantization_bit: "8",
    quantization_type: "fp4",
    double_quantization: "false",
  }).args;
  assert.deepEqual(quantizationOf(typed), { bits: 8, type: "fp4", double: false });
  assert.deepEqual(quantizationOf(validateConfig({ ...MODEL, quantization_bit: 4 }).args), {
    bits: 4,
    type: "nf4",
    double: true,
  });
  assert.equal(quantizationOf(validateConfig(MODEL).args), undefined);
});

Deno.test("quantization_bit accepts 4 or 8, quantization_method bnb, quantization_type nf4 or fp4", () => {
  for (const bits of [3, 2, 16]) {
    fails(
      { quantization_bit: bits },
      RangeError,
      `"quantization_bit"`,
      "one of 8, 4",
      `got ${bits}`,
    );
  }
  fails({ quantization_bit: "four" }, RangeError, `"quantization_bit"`, "one of 8, 4");
  fails(
    { quantization_method: "hqq", quantization_bit: 4 },
    RangeError,
    `Unsupported value "hqq" for "quantization_method"`,
    "bnb",
  );
  fails({ quantization_method: "bitsandbytes" }, RangeError, `"quantization_method"`, `"bnb"`);
  fails({ quantization_type: "nf5" }, RangeError, `"quantization_type"`, `"nf4"`, `"fp4"`);
  fails({ double_quantization: "maybe" }, TypeError, `"double_quantization"`, "true or false");
});

Deno.test("quantization_bit needs finetuning_type lora, one adapter at most and no PiSSA", () => {
  for (const method of ["full", "freeze"]) {
    fails(
      { quantization_bit: 4, finetuning_type: method },
      TypeError,
      `Cannot use "quantization_bit"`,
      `finetuning_type "${method}"`,
      "quantized weights are frozen",
      "use finetuning_type: lora",
    );
  }
  fails({ quantization_bit: 8, pissa_init: true }, TypeError, `"pissa_init"`);
  fails({ quantization_bit: 4, use_dora: true }, TypeError, `"use_dora"`);
  fails({ quantization_bit: 4, train_from_scratch: true }, TypeError, `"train_from_scratch"`);
  fails(
    { quantization_bit: 4, adapter_name_or_path: "a,b" },
    TypeError,
    "2 adapters",
    "single adapter",
  );
  fails(
    { quantization_bit: 4, adapter_name_or_path: "a", create_new_adapter: true },
    TypeError,
    `"create_new_adapter"`,
  );
  // The same keys without quantization_bit, and one adapter with it, are fine.
  validateConfig({ ...MODEL, finetuning_type: "full", pissa_init: false });
  validateConfig({ ...MODEL, quantization_bit: 4, adapter_name_or_path: "a" });
});
