// Which modules a method touches, by LlamaFactory's and PEFT's rules:
// - `lora_target: all` is every linear layer except the LM head (LlamaFactory's
//   find_all_linear_modules; MoE routers and experts are linear layers, so they are included),
//   given to PEFT as the set of last name segments;
// - a list of names matches module paths equal to a name or ending in "." + name (PEFT's
//   check_target_module_exists); a single string is a regex matched against the whole path.

import type { Decoder } from "../model/decoder.ts";
import { closest } from "../registry.ts";
import { LoraLinear } from "../tensor/lora.ts";
import { Linear, type Module } from "../tensor/nn.ts";
import { QuantLinear } from "../tensor/quant_linear.ts";

type AnyLinear = Linear | QuantLinear | LoraLinear;

/** Every linear layer with its dotted path: plain, quantized and LoRA layers (not their bases). */
export function linearModules(model: Module): [string, AnyLinear][] {
  const out: [string, AnyLinear][] = [];
  const wrapped = new Set<Module>();
  for (const [path, m] of model.namedModules()) {
    if (m instanceof LoraLinear) {
      wrapped.add(m.base);
      out.push([path, m]);
    } else if ((m instanceof Linear || m instanceof QuantLinear) && !wrapped.has(m)) {
      out.push([path, m]);
    }
  }
  return out;
}

/** True when module `path` matches PEFT target `t` (a name suffix on dot boundaries). */
export function matchesName(path: string, t: string): boolean {
  return path === t || path.endsWith(`.${t}`);
}

function matcher(targets: readonly string[] | string): (path: string) => boolean {
  if (typeof targets === "string") {
    const re = new RegExp(`^(?:${targets})$`);
    return (p) => re.test(p);
  }
  return (p) => targets.some((t) => matchesName(p, t));
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf(".") + 1);
}

function quote(names: Iterable<string>): string {
  return [...names].map((n) => `"${n}"`).join(", ");
}

export interface ResolvedTargets {
  /** Module paths to wrap, in model order. */
  paths: string[];
  /** What adapter_config.json records (sorted last names, or the regex as given). */
  targetModules: string[] | string;
}

/**
 * Resolves `lora_target` to the Linear layers to wrap. Throws naming an unknown target (with
 * the available names) or a matched module that is not a Linear.
 */
export function resolveLoraTargets(
  model: Decoder,
  targets: readonly string[] | string,
): ResolvedTargets {
  const linears = linearModules(model);
  const head = model.cfg.names.lmHead;
  const available = [...new Set(linears.map(([p]) => lastName(p)))].sort();
  if (typeof targets !== "string" && targets.length === 1 && targets[0] === "all") {
    const paths = linears.map(([p]) => p).filter((p) => p !== head && !p.startsWith(`${head}.`));
    return { paths, targetModules: [...new Set(paths.map(lastName))].sort() };
  }
  if (typeof targets !== "string") {
    if (!targets.length) throw new TypeError('Cannot apply LoRA: lora_target is empty (use "all")');
    if (targets.includes("all")) {
      throw new TypeError(`Cannot apply LoRA to ${quote(targets)}: "all" must be the only target`);
    }
  }
  const match = matcher(targets);
  const linearPaths = new Set(linears.map(([p]) => p));
  const everything = [...model.namedModules()].filter(([p]) => p);
  for (const [p, m] of everything) {
    if (match(p) && !linearPaths.has(p) && !(m instanceof Linear || m instanceof QuantLinear)) {
      throw new TypeError(
        `Cannot apply LoRA to "${p}": it is a ${m.constructor.name}, and LoRA wraps Linear layers (${
          quote(available)
        }); list it in additional_target to train it in full`,
      );
    }
  }
  const paths = linears.map(([p]) => p).filter(match);
  if (typeof targets === "string") {
    if (!paths.length) {
      throw new TypeError(
        `Cannot apply LoRA: the pattern ${
          JSON.stringify(targets)
        } matches no linear layer; the model has ${quote(available)}`,
      );
    }
    return { paths, targetModules: targets };
  }
  for (const t of targets) {
    if (!paths.some((p) => matchesName(p, t))) {
      const hint = closest(t, available);
      throw new TypeError(
        `Cannot find LoRA target "${t}" in the model: expected one of ${quote(available)}${
          hint ? ` (did you mean "${hint}"?)` : ""
        }`,
      );
    }
  }
  return { paths, targetModules: [...new Set(targets)].sort() };
}

/**
 * Resolves `additional_target` (PEFT's modules_to_save) to module paths holding parameters.
 * Throws naming an unknown name with the names the model has.
 */
export function resolveModules(
  model: Module,
  names: readonly string[],
  what = "additional_target",
): string[] {
  const withParams = [...model.namedModules()].filter(([p, m]) =>
    p && [...m.namedParameters()].length > 0 && !(m instanceof LoraLinear)
  );
  const out: string[] = [];
  for (const n of names) {
    // The outermost match: "mlp" picks the MLP, not every module below it.
    const hits = withParams.map(([p]) => p).filter((p) => matchesName(p, n));
    const top = hits.filter((p) => !hits.some((q) => q !== p && p.startsWith(`${q}.`)));
    if (!top.length) {
      const known = [...new Set(withParams.map(([p]) => lastName(p)))].sort();
      const hint = closest(n, known);
      throw new TypeError(
        `Cannot find module "${n}" of ${what} in the model: expected one of ${quote(known)}${
          hint ? ` (did you mean "${hint}"?)` : ""
        }`,
      );
    }
    for (const p of top) if (!out.includes(p)) out.push(p);
  }
  for (const _ of model.namedParameters()); // namedParameters() on children renamed tensors
  return out;
}

/** The module at a dotted path and its parent, for replacing it. */
export function parentOf(model: Module, path: string): { parent: Module; name: string } {
  const i = path.lastIndexOf(".");
  let parent: Module = model;
  if (i >= 0) { for (const p of path.slice(0, i).split(".")) parent = parent.module(p); }
  return { parent, name: path.slice(i + 1) };
}
