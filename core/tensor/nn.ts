// Modules: a tree of named children and parameters with Hugging Face's dotted names
// ("model.layers.0.self_attn.q_proj.weight"), and the layers every model family shares.
// Subclasses read their parameters and children through getters over the registry, so
// loadState() and setModule() (LoRA wrapping a Linear) replace them in place.

import { add } from "./ops/binary.ts";
import { Rng } from "./ops/creation.ts";
import { embedding, type IndexLike } from "./ops/index.ts";
import { matmul } from "./ops/matmul.ts";
import { layerNorm, rmsNorm } from "./ops/norm.ts";
import { reshape } from "./ops/shape.ts";
import { keep } from "./scope.ts";
import { type DType, empty, numel, type Tensor, tensor } from "./tensor.ts";

/** A trainable leaf tensor owned by a module: kept outside scopes, released by the module. */
export type Parameter = Tensor;

/** Marks `t` as a parameter: kept outside every open scope, requiring grad unless told not to. */
export function parameter(t: Tensor, opts: { requiresGrad?: boolean } = {}): Parameter {
  keep(leaf(t));
  t.requiresGrad = opts.requiresGrad ?? true;
  return t;
}

function leaf(t: Tensor): Tensor {
  if (t.node) {
    throw new TypeError(
      `Cannot make a parameter of a tensor computed by "${t.node.op}": expected a leaf tensor`,
    );
  }
  return t;
}

export interface LoadStateOptions {
  /** Throw on missing or unexpected names (default true). */
  strict?: boolean;
}

export interface LoadStateResult {
  missing: string[];
  unexpected: string[];
}

const NAME = /^[A-Za-z0-9_]+$/;

export class Module {
  #params = new Map<string, Tensor>();
  #modules = new Map<string, Module>();

  /** Registers or replaces a parameter (a leaf, kept as it is); the module owns it from now on. */
  setParameter(name: string, t: Tensor): Parameter {
    checkName("parameter", name);
    if (this.#modules.has(name)) {
      throw new TypeError(`Cannot register parameter "${name}": a child module has that name`);
    }
    this.#params.set(name, keep(leaf(t)));
    return t;
  }

  /** Registers or replaces a child module (the old one is not released). */
  setModule<M extends Module>(name: string, m: M): M {
    checkName("module", name);
    if (this.#params.has(name)) {
      throw new TypeError(`Cannot register module "${name}": a parameter has that name`);
    }
    this.#modules.set(name, m);
    return m;
  }

  /** The own parameter `name`; throws when there is none. */
  param(name: string): Parameter {
    const t = this.#params.get(name);
    if (!t) {
      throw new ReferenceError(
        `Cannot find parameter "${name}" in ${this.constructor.name}: it has ${
          quoteList([...this.#params.keys()])
        }`,
      );
    }
    return t;
  }

  /** The own parameter `name`, or null (optional biases). */
  maybeParam(name: string): Parameter | null {
    return this.#params.get(name) ?? null;
  }

  /** The child module `name`; throws when there is none. */
  module<M extends Module = Module>(name: string): M {
    const m = this.#modules.get(name);
    if (!m) {
      throw new ReferenceError(
        `Cannot find module "${name}" in ${this.constructor.name}: it has ${
          quoteList([...this.#modules.keys()])
        }`,
      );
    }
    return m as M;
  }

  /** Direct children, in registration order. */
  children(): [string, Module][] {
    return [...this.#modules];
  }

  /** This module and every descendant with its dotted path ("" for this one). */
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.#modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  /**
   * Every parameter with its dotted name, each tensor once (a tied weight keeps its first name).
   * Sets `tensor.name` to that name, which optimizer state and error messages use.
   */
  *namedParameters(prefix = ""): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [n, t] of m.#params) {
        if (seen.has(t)) continue;
        seen.add(t);
        t.name = path ? `${path}.${n}` : n;
        yield [t.name, t];
      }
    }
  }

  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  /** Parameters that require grad (what an optimizer should get). */
  trainableParameters(): Parameter[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  /** Number of elements in all parameters, or in the trainable ones. */
  countParameters(opts: { trainable?: boolean } = {}): number {
    const ps = opts.trainable ? this.trainableParameters() : this.parameters();
    return ps.reduce((s, t) => s + t.size, 0);
  }

  /** Stops gradients for every parameter (and releases their gradients). */
  freeze(): this {
    for (const t of this.parameters()) {
      t.requiresGrad = false;
      t.grad?.release();
      t.grad = null;
    }
    return this;
  }

  unfreeze(): this {
    for (const t of this.parameters()) t.requiresGrad = true;
    return this;
  }

  /**
   * Replaces parameters by the tensors of `state` with the same dotted names (same shapes; the
   * checkpoint's dtype is kept). The module takes ownership of every tensor it uses and releases
   * the ones they replace; a tied weight takes the first of its names found and the copies under
   * its other names are released. Tensors under unexpected names stay the caller's.
   */
  loadState(
    state: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
    opts: LoadStateOptions = {},
  ): LoadStateResult {
    const map: ReadonlyMap<string, Tensor> = state instanceof Map
      ? state
      : new Map(Object.entries(state as Record<string, Tensor>));
    // Every (owner, local name) of every tensor, so a tied weight is replaced everywhere.
    const slots = new Map<string, [Module, string, Tensor]>();
    for (const [path, m] of this.namedModules()) {
      for (const [n, t] of m.#params) slots.set(path ? `${path}.${n}` : n, [m, n, t]);
    }
    const unexpected = [...map.keys()].filter((k) => !slots.has(k));
    const covered = new Set<Tensor>();
    for (const [k, [, , t]] of slots) if (map.has(k)) covered.add(t);
    const missing = [...this.namedParameters()].filter(([, t]) => !covered.has(t)).map(([k]) => k);
    if ((opts.strict ?? true) && (missing.length || unexpected.length)) {
      throw new TypeError(
        `Cannot load state into ${this.constructor.name}: ${describe("missing", missing)}${
          missing.length && unexpected.length ? "; " : ""
        }${describe("unexpected", unexpected)}`,
      );
    }
    for (const [k, [, , old]] of slots) {
      const t = map.get(k);
      if (t && (t.rank !== old.rank || t.shape.some((d, i) => d !== old.shape[i]))) {
        throw new TypeError(
          `Cannot load "${k}" of shape [${t.shape}] into a parameter of shape [${old.shape}]`,
        );
      }
    }
    const replaced = new Map<Tensor, Tensor>();
    for (const [k, [, , old]] of slots) {
      const t = map.get(k);
      if (!t) continue;
      const first = replaced.get(old);
      if (!first) replaced.set(old, t);
      else if (first !== t) t.release(); // a tied weight's second copy
    }
    for (const [, [m, n, old]] of slots) {
      const t = replaced.get(old);
      if (!t) continue;
      t.requiresGrad = old.requiresGrad;
      m.#params.set(n, keep(t));
    }
    for (const old of replaced.keys()) {
      old.grad?.release();
      old.grad = null;
      old.release();
    }
    for (const _ of this.namedParameters()); // refresh tensor names
    return { missing, unexpected };
  }

  /** Releases every parameter and its gradient; the module is unusable afterwards. */
  release(): void {
    for (const t of this.parameters()) {
      t.grad?.release();
      t.grad = null;
      t.release();
    }
  }
}

/** Children named "0", "1", ... (HF's `layers.0`). */
export class ModuleList<M extends Module = Module> extends Module {
  #items: M[] = [];

  constructor(items: Iterable<M> = []) {
    super();
    for (const m of items) this.push(m);
  }

  push(m: M): this {
    this.setModule(String(this.#items.length), m);
    this.#items.push(m);
    return this;
  }

  get length(): number {
    return this.#items.length;
  }

  at(i: number): M {
    const m = this.module<M>(String(i < 0 ? this.#items.length + i : i));
    return m;
  }

  *[Symbol.iterator](): Iterator<M> {
    for (let i = 0; i < this.#items.length; i++) yield this.at(i);
  }
}

export interface InitOptions {
  /** Seed of the host-side initialisation (default 0). */
  seed?: number;
  dtype?: DType;
  /** Leave the weights uninitialised (they are about to be loaded from a checkpoint). */
  empty?: boolean;
}

export interface LinearOptions extends InitOptions {
  bias?: boolean;
  /**
   * No weight tensor at all: a stand-in whose weight arrives in another form (QLoRA swaps in a
   * QuantLinear), so loading never allocates the dense weight.
   */
  noWeight?: boolean;
}

/** y = x @ W^T + b with W stored [out, in], as torch.nn.Linear and HF checkpoints do. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkDims("Linear", inFeatures, outFeatures);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    // torch's kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in), the bias the same bound.
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    const rng = new Rng(opts.seed ?? 0);
    if (!opts.noWeight) {
      this.setParameter("weight", init([outFeatures, inFeatures], opts, () => uniform(rng, bound)));
    }
    if (opts.bias ?? true) {
      this.setParameter(
        "bias",
        init([outFeatures], opts, () => uniform(rng, bound)),
      );
    }
  }

  get weight(): Parameter {
    return this.param("weight");
  }
  get bias(): Parameter | null {
    return this.maybeParam("bias");
  }

  forward(x: Tensor): Tensor {
    const n = x.shape[x.rank - 1];
    if (x.rank === 0 || n !== this.inFeatures) {
      throw new TypeError(
        `Cannot apply Linear(${this.inFeatures}, ${this.outFeatures}) to a tensor of shape [${x.shape}]: expected a last dimension of ${this.inFeatures}`,
      );
    }
    const lead = x.shape.slice(0, -1);
    const x2 = x.rank === 2 ? x : reshape(x, [numel(lead), n]);
    let y = matmul(x2, this.weight, { transB: true });
    const b = this.bias;
    if (b) y = add(y, b);
    return x.rank === 2 ? y : reshape(y, [...lead, this.outFeatures]);
  }
}

/** A lookup table [num, dim] (torch.nn.Embedding, initialised from N(0, 1)). */
export class Embedding extends Module {
  readonly num: number;
  readonly dim: number;

  constructor(num: number, dim: number, opts: InitOptions = {}) {
    super();
    checkDims("Embedding", num, dim);
    this.num = num;
    this.dim = dim;
    const rng = new Rng(opts.seed ?? 0);
    this.setParameter("weight", init([num, dim], opts, () => rng.normal()));
  }

  get weight(): Parameter {
    return this.param("weight");
  }

  /** Rows for `ids` of any shape (i32 tensor or host array): [...ids.shape, dim]. */
  forward(ids: IndexLike): Tensor {
    return embedding(this.weight, ids);
  }
}

export interface RMSNormModuleOptions extends Omit<InitOptions, "seed"> {
  eps?: number;
  /** Scale by (offset + weight); Gemma uses 1 and starts the weight at 0. */
  offset?: number;
}

/** Root-mean-square norm over the last axis (weight starts at 1 - offset, so the scale is 1). */
export class RMSNorm extends Module {
  readonly eps: number;
  readonly offset: number;

  constructor(dim: number, opts: RMSNormModuleOptions = {}) {
    super();
    checkDims("RMSNorm", dim);
    this.eps = opts.eps ?? 1e-6;
    this.offset = opts.offset ?? 0;
    this.setParameter("weight", init([dim], opts, () => 1 - this.offset));
  }

  get weight(): Parameter {
    return this.param("weight");
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, { eps: this.eps, offset: this.offset });
  }
}

export interface LayerNormModuleOptions extends Omit<InitOptions, "seed"> {
  eps?: number;
  bias?: boolean;
}

/** Layer norm over the last axis with a weight (starts at 1) and an optional bias (at 0). */
export class LayerNorm extends Module {
  readonly eps: number;

  constructor(dim: number, opts: LayerNormModuleOptions = {}) {
    super();
    checkDims("LayerNorm", dim);
    this.eps = opts.eps ?? 1e-5;
    this.setParameter("weight", init([dim], opts, () => 1));
    if (opts.bias ?? true) this.setParameter("bias", init([dim], opts, () => 0));
  }

  get weight(): Parameter {
    return this.param("weight");
  }
  get bias(): Parameter | null {
    return this.maybeParam("bias");
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, { eps: this.eps });
  }
}

/** A parameter of `shape` filled on the host by `value()` (or left empty), then uploaded. */
function init(shape: number[], opts: InitOptions, value: () => number): Parameter {
  const dtype = opts.dtype ?? "f32";
  if (opts.empty) return parameter(empty(shape, dtype));
  const values = new Float32Array(numel(shape));
  for (let i = 0; i < values.length; i++) values[i] = value();
  return parameter(tensor(values, shape, { dtype }));
}

function uniform(rng: Rng, bound: number): number {
  return (2 * rng.next() - 1) * bound;
}

function checkDims(what: string, ...dims: number[]): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot create ${what}(${dims.join(", ")}): dimensions must be non-negative integers`,
      );
    }
  }
}

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    throw new TypeError(
      `Cannot register ${kind} "${name}": names are letters, digits and underscores (no dots)`,
    );
  }
}

function quoteList(names: string[]): string {
  return names.length ? names.map((n) => `"${n}"`).join(", ") : "none";
}

function describe(what: string, names: string[]): string {
  if (!names.length) return "";
  const shown = names.slice(0, 8).map((n) => `"${n}"`).join(", ");
  return `${names.length} ${what} (${shown}${names.length > 8 ? ", ..." : ""})`;
}
