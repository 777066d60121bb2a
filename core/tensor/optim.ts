// Optimizers: AdamW and SGD as one fused kernel dispatch per parameter. The learning rate and the
// bias corrections travel in each dispatch's uniform, so a step reads nothing back. Semantics
// follow torch.optim (per-parameter step counts; parameters without a gradient are skipped).

import { adamw, sgd } from "../../kernels/mod.ts";
import { gpu, grid, type KernelDescriptor } from "./gpu.ts";
import { groupsFor, kernelType, Params, sameShape } from "./ops/_util.ts";
import { zeros } from "./ops/creation.ts";
import { keep } from "./scope.ts";
import { empty, type Tensor } from "./tensor.ts";

/** Parameters sharing options; `lr` and `weightDecay` default to the optimizer's. */
export interface ParamGroup {
  params: readonly Tensor[];
  /** This group's learning rate when the optimizer runs at its own `lr` (scaled with it). */
  lr?: number;
  weightDecay?: number;
}

/** Host copy of an optimizer's state, for checkpoints (torch's names for the slots). */
export interface OptimizerState {
  type: string;
  lr: number;
  params: { name?: string; step: number; slots: Record<string, Float32Array> }[];
}

interface Group {
  params: Tensor[];
  /** Learning rate at the optimizer's initial lr. */
  lr: number;
  weightDecay: number;
}

export interface Slot {
  step: number;
  buffers: Record<string, Tensor>;
}

/** Shared parts: parameter groups, the current lr, zeroGrad, state save and load. */
export abstract class Optimizer {
  readonly groups: readonly Group[];
  #initialLr: number;
  #lr: number;
  #slots = new Map<Tensor, Slot>();
  protected abstract readonly type: string;
  /** Names of the per-parameter buffers `createSlots()` makes (torch's state keys). */
  protected abstract readonly slotNames: readonly string[];

  constructor(params: readonly Tensor[] | readonly ParamGroup[], lr: number, weightDecay: number) {
    checkNonNegative("lr", lr);
    checkNonNegative("weightDecay", weightDecay);
    this.#initialLr = this.#lr = lr;
    const list: ParamGroup[] = params.length > 0 && "params" in params[0]
      ? [...params as readonly ParamGroup[]]
      : [{ params: params as readonly Tensor[] }];
    const seen = new Set<Tensor>();
    this.groups = list.map((g) => {
      for (const p of g.params) {
        if (seen.has(p)) {
          throw new TypeError(
            `Cannot optimize parameter ${label(p)}: it appears in more than one group`,
          );
        }
        if (p.node) {
          throw new TypeError(
            `Cannot optimize tensor ${label(p)}: it was computed by "${p.node.op}" (not a leaf)`,
          );
        }
        seen.add(p);
      }
      checkNonNegative("group lr", g.lr ?? lr);
      checkNonNegative("group weightDecay", g.weightDecay ?? weightDecay);
      return { params: [...g.params], lr: g.lr ?? lr, weightDecay: g.weightDecay ?? weightDecay };
    });
  }

  /** The current learning rate (the last one given to `step()`, else the initial one). */
  get lr(): number {
    return this.#lr;
  }

  /** Every parameter, group after group. */
  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /**
   * Updates every parameter that has a gradient. `lr` sets the learning rate from now on; each
   * group's rate scales with it, as torch's LambdaLR scales every group's initial rate.
   */
  step(lr?: number): void {
    if (lr !== undefined) {
      checkNonNegative("lr", lr);
      this.#lr = lr;
    }
    for (const group of this.groups) {
      const groupLr = this.#initialLr > 0 ? group.lr * (this.#lr / this.#initialLr) : this.#lr;
      for (const p of group.params) {
        const g = p.grad;
        if (!g || g.released) continue;
        if (!sameShape(g.shape, p.shape) || g.dtype !== p.dtype) {
          throw new TypeError(
            `Cannot update parameter ${
              label(p)
            } of shape [${p.shape}] (${p.dtype}): its gradient has shape [${g.shape}] (${g.dtype})`,
          );
        }
        const slot = this.slotOf(p);
        slot.step++;
        this.update(p, g, slot, { lr: groupLr, weightDecay: group.weightDecay });
      }
    }
  }

  /** Releases every gradient (torch's zero_grad with set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.release();
      p.grad = null;
    }
  }

  /** Copies the state to the host (one read-back per 256 MiB, not one per tensor). */
  async state(): Promise<OptimizerState> {
    const params = this.params;
    const tensors: Tensor[] = [];
    for (const p of params) tensors.push(...Object.values(this.#slots.get(p)?.buffers ?? {}));
    const host = await readAll(tensors);
    let k = 0;
    return {
      type: this.type,
      lr: this.#lr,
      params: params.map((p) => {
        const s = this.#slots.get(p);
        const slots: Record<string, Float32Array> = {};
        for (const n of Object.keys(s?.buffers ?? {})) slots[n] = host[k++];
        return { name: p.name, step: s?.step ?? 0, slots };
      }),
    };
  }

  /** Restores state saved by `state()` for the same parameters in the same order. */
  loadState(state: OptimizerState): void {
    const params = this.params;
    if (state.type !== this.type) {
      throw new TypeError(
        `Cannot load ${state.type} state into ${this.type}: the optimizer types differ`,
      );
    }
    if (state.params.length !== params.length) {
      throw new TypeError(
        `Cannot load optimizer state for ${state.params.length} parameters into one with ${params.length}`,
      );
    }
    params.forEach((p, i) => {
      const s = state.params[i];
      if (s.name !== undefined && p.name !== undefined && s.name !== p.name) {
        throw new TypeError(
          `Cannot load optimizer state of "${s.name}" into parameter ${i} "${p.name}": names differ`,
        );
      }
      for (const [n, size] of s.step > 0 ? Object.entries(this.slotSizes(p)) : []) {
        const v = s.slots[n];
        if (!v) {
          throw new TypeError(
            `Cannot load optimizer state of parameter ${label(p)}: slot "${n}" is missing`,
          );
        }
        if (v.length !== size) {
          throw new TypeError(
            `Cannot load optimizer slot "${n}" of ${v.length} values into parameter ${
              label(p)
            }, whose slot holds ${size}`,
          );
        }
      }
    });
    this.#lr = state.lr;
    params.forEach((p, i) => {
      const s = state.params[i];
      this.#releaseSlot(p);
      if (s.step === 0) return;
      const buffers = this.createSlots(p);
      this.#slots.set(p, { step: s.step, buffers });
      for (const [n, t] of Object.entries(buffers)) {
        gpu().upload(t.buffer("load"), Float32Array.from(s.slots[n]));
      }
    });
  }

  /** Releases the optimizer state (not the parameters or their gradients). */
  release(): void {
    for (const p of [...this.#slots.keys()]) this.#releaseSlot(p);
  }

  /** Work that needs the host before `step()` (GaLore's SVDs); awaited by the trainer. */
  async prepare(): Promise<void> {}

  /** The parameter's state, created (step 0) on first use. */
  protected slotOf(p: Tensor): Slot {
    let slot = this.#slots.get(p);
    if (!slot) this.#slots.set(p, slot = { step: 0, buffers: this.createSlots(p) });
    return slot;
  }

  /** Elements of each of `createSlots(p)`'s buffers (checks loaded state). */
  protected slotSizes(p: Tensor): Record<string, number> {
    return Object.fromEntries(this.slotNames.map((n) => [n, p.size]));
  }

  /** Allocates this optimizer's per-parameter buffers (kept outside scopes). */
  protected abstract createSlots(p: Tensor): Record<string, Tensor>;

  /** Records the update of one parameter; `slot.step` already counts this step. */
  protected abstract update(
    p: Tensor,
    g: Tensor,
    slot: Slot,
    opts: { lr: number; weightDecay: number },
  ): void;

  #releaseSlot(p: Tensor) {
    const s = this.#slots.get(p);
    if (!s) return;
    for (const t of Object.values(s.buffers)) t.release();
    this.#slots.delete(p);
  }
}

export interface AdamWOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW with decoupled weight decay and bias correction, as torch.optim.AdamW. */
export class AdamW extends Optimizer {
  protected readonly type = "adamw";
  protected readonly slotNames = ["exp_avg", "exp_avg_sq"] as const;
  readonly betas: readonly [number, number];
  readonly eps: number;

  constructor(params: readonly Tensor[] | readonly ParamGroup[], opts: AdamWOptions) {
    super(params, opts.lr, opts.weightDecay ?? 0);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.betas.forEach((b, i) => {
      if (!(b >= 0 && b < 1)) {
        throw new RangeError(
          `Cannot create AdamW with beta${i + 1} = ${b}: expected a value in [0, 1)`,
        );
      }
    });
    checkNonNegative("eps", this.eps);
  }

  protected createSlots(p: Tensor): Record<string, Tensor> {
    return keep({ exp_avg: zeros(p.shape), exp_avg_sq: zeros(p.shape) });
  }

  protected update(p: Tensor, g: Tensor, slot: Slot, o: { lr: number; weightDecay: number }) {
    const [b1, b2] = this.betas;
    const t = slot.step;
    const params = new Params()
      .u32(p.size)
      .f32(1 - o.lr * o.weightDecay, b1, b2, o.lr / (1 - b1 ** t), Math.sqrt(1 - b2 ** t), this.eps)
      .bytes();
    dispatchUpdate(adamw, p, params, [g, slot.buffers.exp_avg, slot.buffers.exp_avg_sq]);
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD). */
export class SGD extends Optimizer {
  protected readonly type = "sgd";
  protected get slotNames(): readonly string[] {
    return this.momentum === 0 ? [] : ["momentum_buffer"];
  }
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  // NOTE: the kernel's buffer binding must be bound even without momentum; one shared element.
  #dummy: Tensor | null = null;

  constructor(params: readonly Tensor[] | readonly ParamGroup[], opts: SGDOptions) {
    super(params, opts.lr, opts.weightDecay ?? 0);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    checkNonNegative("momentum", this.momentum);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError(
        `Cannot create SGD with nesterov: it needs momentum > 0 and dampening 0 (got ${this.momentum} and ${this.dampening})`,
      );
    }
  }

  protected createSlots(p: Tensor): Record<string, Tensor> {
    // Filled on the first step (the kernel copies the gradient in), so no zero fill.
    return this.momentum === 0 ? {} : keep({ momentum_buffer: empty(p.shape) });
  }

  protected update(p: Tensor, g: Tensor, slot: Slot, o: { lr: number; weightDecay: number }) {
    const buf = slot.buffers.momentum_buffer ?? (this.#dummy ??= keep(empty([1])));
    const params = new Params()
      .u32(p.size)
      .f32(o.lr, this.momentum, this.dampening, o.weightDecay)
      .u32(this.nesterov ? 1 : 0, slot.step === 1 ? 1 : 0)
      .bytes();
    dispatchUpdate(sgd, p, params, [g, buf]);
  }

  override release(): void {
    super.release();
    this.#dummy?.release();
    this.#dummy = null;
  }
}

function dispatchUpdate(kernel: KernelDescriptor, p: Tensor, params: Uint8Array, rest: Tensor[]) {
  gpu().dispatch(kernel, {
    type: kernelType(`update with ${kernel.name}`, p),
    params,
    buffers: [p.buffer(kernel.name), ...rest.map((t) => t.buffer(kernel.name))],
    workgroups: grid(groupsFor(p.size)),
  });
}

/** Reads many f32 tensors with few read-backs: packs them into 256 MiB chunks on the GPU. */
async function readAll(tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const limit = Math.min(gpu().limits.maxBufferSize, 1 << 28);
  let i = 0;
  while (i < tensors.length) {
    let bytes = 0, j = i;
    while (j < tensors.length && (j === i || bytes + tensors[j].byteLength <= limit)) {
      bytes += tensors[j++].byteLength;
    }
    const chunk = gpu().pool.acquire(bytes);
    try {
      let at = 0;
      for (let k = i; k < j; k++) {
        gpu().copy(tensors[k].buffer("read"), 0, chunk, at, tensors[k].byteLength);
        at += tensors[k].byteLength;
      }
      const host = await gpu().read(chunk, bytes);
      at = 0;
      for (let k = i; k < j; k++) {
        out.push(new Float32Array(host, at, tensors[k].size));
        at += tensors[k].byteLength;
      }
    } finally {
      gpu().pool.release(chunk);
    }
    i = j;
  }
  return out;
}

function checkNonNegative(what: string, x: number) {
  if (!(x >= 0)) {
    throw new RangeError(`Cannot create an optimizer with ${what} = ${x}: expected a value >= 0`);
  }
}

function label(p: Tensor): string {
  return p.name ? `"${p.name}"` : `#${p.id} of shape [${p.shape}]`;
}
