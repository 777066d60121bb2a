// `export`: load the base model, merge adapter_name_or_path adapters, then write an HF folder
// (with LlamaFactory's Ollama Modelfile when a template is set) or a GGUF file into export_dir.

import { join } from "node:path";
import type { Template } from "../data/template.ts";
import { Tokenizer } from "../io/tokenizer.ts";
import type { FinetuningMethod } from "../method/method.ts";
import type { ModelFamily } from "../model/family.ts";
import { loadModel } from "../model/load.ts";
import type { Registry } from "../registry.ts";
import { exportGguf, type GgufType } from "./gguf.ts";
import { exportHf } from "./hf.ts";
import { ollamaModelfile } from "./modelfile.ts";

/** The LlamaFactory keys export reads (a validated config fits). */
export interface ExportArgs {
  model_name_or_path?: string;
  adapter_name_or_path?: readonly string[];
  finetuning_type?: string;
  template?: string;
  export_dir?: string;
  /** GB per shard. */
  export_size?: number;
  export_format?: string;
  export_gguf_type?: string;
  infer_dtype?: string;
  quantization_bit?: number;
}

export interface ExportRegistries {
  models: Registry<ModelFamily>;
  methods: Registry<FinetuningMethod>;
  templates: Registry<Template>;
}

export interface ExportOptions {
  /** Called with the weight elements written so far (0 first, total last); the merge is not counted. */
  onProgress?: (done: number, total: number) => void;
}

/** Runs the export; returns the path written (a folder, or the .gguf file). */
export async function exportModel(
  args: ExportArgs,
  reg: ExportRegistries,
  opts: ExportOptions = {},
): Promise<string> {
  const out = args.export_dir;
  if (!out) throw new TypeError("Cannot export the model: export_dir is not set");
  const base = args.model_name_or_path;
  if (!base) throw new TypeError("Cannot export the model: model_name_or_path is not set");
  if (args.quantization_bit !== undefined) {
    // LlamaFactory's words; without adapters it would save bitsandbytes' format, which we do not.
    throw new TypeError(
      `Cannot ${
        args.adapter_name_or_path?.length ? "merge adapters to" : "export"
      } a quantized model (quantization_bit ${args.quantization_bit}): export merges into the dense weights; drop quantization_bit`,
    );
  }
  // NOTE: checked before any work: a file in the way would otherwise be replaced by the folder.
  if (await isFile(out)) {
    throw new TypeError(
      `Cannot export the model to export_dir "${out}": it is a file; expected a folder to write into`,
    );
  }
  const { model, family } = await loadModel(base, reg.models);
  try {
    if (args.adapter_name_or_path?.length) {
      const method = reg.methods.get(args.finetuning_type ?? "lora");
      await method.apply(model, args, { family, trainable: false });
    }
    if (args.export_format === "gguf") {
      await Deno.mkdir(out, { recursive: true });
      const type = (args.export_gguf_type ?? "f16") as GgufType;
      const path = join(out, `model-${type}.gguf`);
      const hasTokenizer = await exists(join(base, "tokenizer.json"));
      await exportGguf(model, path, {
        type,
        tokenizerDir: hasTokenizer ? base : undefined,
        name: base.replace(/\/+$/, "").split("/").at(-1),
        onProgress: opts.onProgress,
      });
      return path;
    }
    const extraFiles: Record<string, string> = {};
    if (args.template && await exists(join(base, "tokenizer.json"))) {
      const tk = await Tokenizer.load(base);
      extraFiles.Modelfile = ollamaModelfile(reg.templates.get(args.template), tk);
    }
    const dtype = ({ float32: "f32", float16: "f16", bfloat16: "bf16" } as const)[
      args.infer_dtype as "float32"
    ];
    await exportHf(model, out, {
      family,
      baseDir: base,
      dtype,
      maxShardBytes: (args.export_size ?? 5) * 1e9,
      extraFiles,
      onProgress: opts.onProgress,
    });
    return out;
  } finally {
    model.release();
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
