// The WebGPU runtime: adapter and device, pipeline cache, buffer pool, command batching, read-back.
// Every op records its dispatch into one shared compute pass; nothing waits until `flush()` or a
// read-back. In Deno 2.9 each read-back costs about 11 ms, so a training step must not do one.

import { BufferPool } from "./pool.ts";

/** Optional adapter features that change which kernel variants run. */
export type Feature = "shader-f16" | "subgroups" | "timestamp-query";

/** A WGSL kernel: one entry point, a uniform `Params` at binding 0 and storage buffers from 1. */
export interface KernelDescriptor {
  /** Unique name; also the pipeline-cache key prefix. */
  readonly name: string;
  /** WGSL text. `alias T = f32;` is the one line rewritten for another element type. */
  readonly source: string;
  /** Names of the storage bindings 1..n, in order (documentation and argument-count check). */
  readonly storage: readonly string[];
  /** Features the WGSL needs; the op must choose another kernel when one is missing. */
  readonly requires?: readonly Feature[];
}

/** Element types a kernel can be compiled for through its `T` alias. */
export type KernelType = "f32" | "f16";

export interface DispatchOptions {
  /** Element type substituted for `alias T = f32;` (default f32). */
  type?: KernelType;
  /** Values for WGSL `override` constants (tile sizes, op selectors). */
  constants?: Record<string, number>;
  /** Bytes of the uniform `Params` struct; omitted when the kernel has none. */
  params?: ArrayBuffer | ArrayBufferView;
  /** Storage buffers for bindings 1..n (or GPUBufferBinding with offset/size). */
  buffers: readonly (GPUBuffer | GPUBufferBinding)[];
  /** Workgroup counts; use `grid()` for 1-D work larger than 65535 groups. */
  workgroups: readonly [number, number?, number?];
}

export class KernelCompileError extends Error {
  /** `lineOffset` undoes the lines specialize() prepended, so numbers match the .wgsl file. */
  constructor(kernel: string, messages: readonly GPUCompilationMessage[], lineOffset = 0) {
    const lines = messages.map((m) =>
      `  ${kernel}.wgsl:${m.lineNum - lineOffset}:${m.linePos}: ${m.message}`
    );
    super(`Cannot compile kernel "${kernel}":\n${lines.join("\n")}`);
    this.name = "KernelCompileError";
  }
}

export class DeviceLostError extends Error {
  constructor(reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message}; restart the process to get a new device`);
    this.name = "DeviceLostError";
  }
}

export interface GpuOptions {
  /** Features to hide even when the adapter has them, to test fallback paths. */
  disable?: readonly Feature[];
  powerPreference?: GPUPowerPreference;
}

const UNIFORM_ALIGN = 256;
const ARENA_BYTES = 1 << 20;
// Bind groups kept for reuse; about one decode or training step of dispatches for a mid-size model.
const BIND_GROUP_CACHE = 8192;

/** Parses `LLAMAFORGE_DISABLE=shader-f16,subgroups` into a feature list. */
export function disabledFromEnv(): Feature[] {
  const raw = Deno.env.get("LLAMAFORGE_DISABLE") ?? "";
  return raw.split(",").map((s) => s.trim()).filter(Boolean) as Feature[];
}

/**
 * Leaves wgpu one backend on Linux: Vulkan. Probing OpenGL loads glvnd's libEGL, whose
 * thread-exit cleanup can race its own unload at process exit and corrupt the heap (seen as
 * "corrupted size vs. prev_size" or a SIGSEGV after all work finished); compute needs Vulkan
 * there anyway. A `DENO_WEBGPU_BACKEND` the user set is kept. Must run before the first adapter.
 */
export function preferVulkanOnLinux(): void {
  if (Deno.build.os !== "linux") return;
  try {
    if (!Deno.env.get("DENO_WEBGPU_BACKEND")) Deno.env.set("DENO_WEBGPU_BACKEND", "vulkan");
  } catch { /* without --allow-env wgpu probes every backend, as before */ }
}

export class Gpu {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly features: ReadonlySet<Feature>;
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  /** Subgroup size when `subgroups` is on (from the adapter info, else 32). */
  readonly subgroupSize: number;
  #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #arena: GPUBuffer;
  #arenaCpu = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  #pending = 0;
  #lost: DeviceLostError | null = null;
  /** Dispatches recorded since start (for tests and benchmarks). */
  dispatchCount = 0;
  submitCount = 0;

  constructor(
    device: GPUDevice,
    adapterName: string,
    features: Set<Feature>,
    subgroupSize: number,
  ) {
    this.device = device;
    this.adapterName = adapterName;
    this.features = features;
    this.limits = device.limits;
    this.subgroupSize = subgroupSize;
    this.pool = new BufferPool(device);
    this.#arena = device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.lost.then((info) => {
      this.#lost = new DeviceLostError(info.reason ?? "unknown", info.message);
    });
  }

  has(feature: Feature): boolean {
    return this.features.has(feature);
  }

  /** Compiles (once per kernel, type and constants) and returns the compute pipeline. */
  #layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  // createBindGroup costs about 11 us in Deno 2.9, most of a small op's recording time. A decode
  // step or training step repeats the same dispatches on the same pooled buffers and arena
  // offsets, so its bind groups are reused from here; ids, not objects, key buffers and pipelines.
  #groups = new Map<string, GPUBindGroup>();
  #ids = new WeakMap<object, number>();
  #nextId = 1;
  bindGroupHits = 0;

  #id(o: object): number {
    let id = this.#ids.get(o);
    if (id === undefined) this.#ids.set(o, id = this.#nextId++);
    return id;
  }

  pipeline(kernel: KernelDescriptor, type: KernelType = "f32", constants?: Record<string, number>) {
    const key = `${kernel.name}:${type}:${constants ? JSON.stringify(constants) : ""}`;
    let pipeline = this.#pipelines.get(key);
    if (pipeline) return pipeline;
    for (const f of kernel.requires ?? []) {
      if (!this.has(f)) {
        throw new RangeError(
          `Cannot use kernel "${kernel.name}": the adapter lacks feature "${f}"`,
        );
      }
    }
    if (type === "f16" && !this.has("shader-f16")) {
      throw new RangeError(
        `Cannot compile kernel "${kernel.name}" for f16: the adapter lacks "shader-f16"`,
      );
    }
    const code = specialize(kernel.source, type);
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ code, label: kernel.name });
    pipeline = this.device.createComputePipeline({
      layout: "auto",
      label: kernel.name,
      compute: { module, entryPoint: "main", constants },
    });
    // Compilation errors surface asynchronously; report them with WGSL line numbers.
    module.getCompilationInfo().then((info) => {
      const errors = info.messages.filter((m) => m.type === "error");
      if (errors.length) {
        const offset = type === "f32" ? 0 : 1;
        console.error(new KernelCompileError(kernel.name, errors, offset).message);
      }
    });
    this.device.popErrorScope().then((e) => {
      if (e) console.error(`Cannot create pipeline "${kernel.name}": ${e.message}`);
    });
    this.#pipelines.set(key, pipeline);
    return pipeline;
  }

  /** Names of the kernels compiled so far (tests check which variant ran). */
  compiledKernels(): string[] {
    return [...new Set([...this.#pipelines.keys()].map((k) => k.split(":")[0]))];
  }

  /** Records one dispatch into the current compute pass; nothing runs until `flush()`. */
  dispatch(kernel: KernelDescriptor, opts: DispatchOptions): void {
    if (this.#lost) throw this.#lost;
    if (opts.buffers.length !== kernel.storage.length) {
      throw new TypeError(
        `Cannot dispatch "${kernel.name}": got ${opts.buffers.length} buffers, expected ${kernel.storage.length} (${
          kernel.storage.join(", ")
        })`,
      );
    }
    const [x, y = 1, z = 1] = opts.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new RangeError(
        `Cannot dispatch "${kernel.name}" with [${x}, ${y}, ${z}] workgroups: the limit per dimension is ${max}`,
      );
    }
    const pipeline = this.pipeline(kernel, opts.type, opts.constants);
    let key = `${this.#id(pipeline)}`;
    const entries: GPUBindGroupEntry[] = [];
    if (opts.params) {
      const bytes = opts.params instanceof ArrayBuffer
        ? new Uint8Array(opts.params)
        : new Uint8Array(opts.params.buffer, opts.params.byteOffset, opts.params.byteLength);
      if (this.#arenaUsed + bytes.byteLength > ARENA_BYTES) this.flush();
      const offset = this.#arenaUsed;
      this.#arenaCpu.set(bytes, offset);
      this.#arenaUsed += Math.ceil(bytes.byteLength / UNIFORM_ALIGN) * UNIFORM_ALIGN;
      const size = Math.max(16, bytes.byteLength);
      entries.push({ binding: 0, resource: { buffer: this.#arena, offset, size } });
      key += `|${offset}:${size}`;
    }
    for (const [i, b] of opts.buffers.entries()) {
      if (b instanceof GPUBuffer) {
        entries.push({ binding: i + 1, resource: { buffer: b } });
        key += `|${this.#id(b)}`;
      } else {
        entries.push({ binding: i + 1, resource: b });
        key += `|${this.#id(b.buffer)}@${b.offset ?? 0}+${b.size ?? ""}`;
      }
    }
    let group = this.#groups.get(key);
    if (group) this.bindGroupHits++;
    else {
      let layout = this.#layouts.get(pipeline);
      if (!layout) this.#layouts.set(pipeline, layout = pipeline.getBindGroupLayout(0));
      group = this.device.createBindGroup({ layout, entries });
      // Groups of buffers gone from the pool are never asked for again: drop all now and then.
      if (this.#groups.size >= BIND_GROUP_CACHE) this.#groups.clear();
      this.#groups.set(key, group);
    }
    const pass = this.#computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    this.#pending++;
    this.dispatchCount++;
  }

  /** Records a buffer-to-buffer copy, ordered with the dispatches around it. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number) {
    if (this.#lost) throw this.#lost;
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.#pending++;
  }

  /** Writes host data into a buffer, after every dispatch recorded so far has read its old contents. */
  upload(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (this.#lost) throw this.#lost;
    // NOTE: queue.writeBuffer lands before the next submit's commands; flushing first keeps
    // recorded reads of a recycled buffer from seeing the new contents.
    if (this.#pending) this.flush();
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const aligned = bytes.byteLength & ~3;
    if (aligned) this.device.queue.writeBuffer(buffer, offset, bytes, 0, aligned);
    if (aligned !== bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(aligned));
      this.device.queue.writeBuffer(buffer, offset + aligned, tail);
    }
  }

  /** Submits everything recorded so far as one command buffer; does not wait. */
  flush(): void {
    if (this.#lost) throw this.#lost;
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#arenaUsed) {
      this.device.queue.writeBuffer(this.#arena, 0, this.#arenaCpu, 0, this.#arenaUsed);
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.submitCount++;
    this.#encoder = null;
    this.#arenaUsed = 0;
    this.#pending = 0;
  }

  /** Copies `bytes` from a buffer to the host; flushes and waits (about 11 ms in Deno 2.9). */
  async read(buffer: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.copy(buffer, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      if (this.#lost) throw this.#lost;
      throw e;
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.destroy();
    return out;
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    if (this.#lost) throw this.#lost;
  }

  #computePass(): GPUComputePassEncoder {
    if (this.#pass) return this.#pass;
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #endPass() {
    this.#pass?.end();
    this.#pass = null;
  }
}

/** Rewrites the `T` alias for another element type (the one text substitution kernels allow). */
export function specialize(source: string, type: KernelType): string {
  if (type === "f32") return source;
  if (!/alias T = f32;/.test(source)) {
    throw new TypeError(`Cannot specialize kernel for ${type}: it has no "alias T = f32;" line`);
  }
  return "enable f16;\n" + source.replace("alias T = f32;", "alias T = f16;");
}

/** Splits a 1-D count of workgroups into x and y so each stays within the per-dimension limit. */
export function grid(groups: number, max = 65535): [number, number] {
  if (groups <= max) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

let current: Gpu | null = null;
let pending: Promise<Gpu> | null = null;

/** Opens the adapter and device once per process; later calls return the same one. */
export function initGpu(opts: GpuOptions = {}): Promise<Gpu> {
  if (current) return Promise.resolve(current);
  pending ??= open(opts).then((g) => (current = g));
  return pending;
}

/** The device opened by `initGpu()`; throws if there is none yet. */
export function gpu(): Gpu {
  if (!current) throw new Error("Cannot use the GPU before initGpu(): await initGpu() first");
  return current;
}

async function open(opts: GpuOptions): Promise<Gpu> {
  if (!("gpu" in navigator) || !navigator.gpu) {
    throw new Error(
      "Cannot find WebGPU in this Deno: use Deno 2.9 or later (npm install -g deno@2.9.6)",
    );
  }
  preferVulkanOnLinux();
  const adapter = await navigator.gpu.requestAdapter({
    powerPreference: opts.powerPreference ?? "high-performance",
  });
  if (!adapter) {
    throw new Error(
      "Cannot find a GPU adapter: install a Vulkan driver (on Debian: apt-get install " +
        "mesa-vulkan-drivers libvulkan1 for the CPU adapter llvmpipe, or your GPU vendor's driver); " +
        `wgpu backends tried: ${
          Deno.env.get("DENO_WEBGPU_BACKEND") ?? "all"
        } (env DENO_WEBGPU_BACKEND)`,
    );
  }
  const disabled = new Set([...(opts.disable ?? []), ...disabledFromEnv()]);
  const wanted: Feature[] = ["shader-f16", "timestamp-query"].filter((f) =>
    adapter.features.has(f as GPUFeatureName) && !disabled.has(f as Feature)
  ) as Feature[];
  const limits: Record<string, number> = {};
  for (
    const k of [
      "maxBufferSize",
      "maxStorageBufferBindingSize",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxComputeWorkgroupSizeY",
      "maxComputeWorkgroupsPerDimension",
      "maxStorageBuffersPerShaderStage",
    ]
  ) limits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  let device: GPUDevice | null = null;
  // NOTE: NVIDIA and llvmpipe accept "subgroups" although the adapter does not list it.
  if (!disabled.has("subgroups")) {
    device = await adapter.requestDevice({
      requiredFeatures: [...wanted, "subgroups" as GPUFeatureName] as GPUFeatureName[],
      requiredLimits: limits,
    }).catch(() => null);
    if (device && !device.features.has("subgroups")) device = null;
    if (device) wanted.push("subgroups");
  }
  device ??= await adapter.requestDevice({
    requiredFeatures: wanted as GPUFeatureName[],
    requiredLimits: limits,
  });
  const info = adapter.info;
  const name = info.description || `${info.vendor} ${info.architecture} ${info.device}`.trim();
  const subgroupSize = (info as unknown as { subgroupMaxSize?: number }).subgroupMaxSize || 32;
  return new Gpu(device, name, new Set(wanted), subgroupSize);
}
