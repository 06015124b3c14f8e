// Step graphs on tfjs-backend-webgpu (lib/ops/step-graph.ts says what they are and why they are exact). Recording
// wraps four of the backend's methods for the length of one eager step: recordAndSubmit (each dispatch: its
// pipeline, workgroup counts, bound buffers and uniforms), makeUniforms (the uniform entries it lays out),
// uploadToGPU (constants the step uploads) and copyBuffer / read / readSync (work a replay could not repeat). Every
// buffer a recorded dispatch binds is pinned: tfjs's releaseBuffer holds a pinned buffer back from its pool, so no
// later tensor can be given it while a graph may still write it. A replay is one command buffer: the inputs copied
// in, every dispatch with its own bind group (the graph's own uniform buffers in place of tfjs's pooled ones), the
// outputs copied into new tensors. tfjs 4.22's internals, as named in its dist/backend_webgpu.js.
import * as tf from '@tensorflow/tfjs-core';
import type { StepGraph, StepGraphBackend, StepRecording } from '../../ops/step-graph';
import { registerStepGraphs } from '../../ops/step-graph';
import { countReplayedDispatches } from './dispatch';

/** A uniform entry as tfjs lays them out: one scalar or a vector of up to 6. */
export interface UniformEntry {
  type: string;
  data: number[];
}

/**
 * The bytes tfjs-backend-webgpu's makeUniforms writes for these entries: WGSL struct alignment, 4 bytes for a
 * scalar, 8 for a vec2, 16 for vec3 and wider (tfjs's shapes of rank 5 and 6 are two fields, the second aligned to
 * 16), the whole rounded to its widest alignment. An empty entry counts as [1], as there.
 */
export function uniformBytes(entries: readonly UniformEntry[]): ArrayBuffer {
  const offsets: number[] = [];
  let end = 0;
  let widest = 1;
  let previous = 0;
  for (const e of entries) {
    const n = Math.max(1, e.data.length);
    if (n > 6) throw new Error(`uniform entry of ${n} values: tfjs lays out at most 6`);
    const align = previous === 5 || previous === 6 ? 16 : n === 1 ? 4 : n === 2 ? 8 : 16;
    widest = Math.max(widest, align);
    const at = Math.ceil(end / align) * align;
    offsets.push(at);
    end = at + 4 * n;
    previous = n;
  }
  const bytes = new ArrayBuffer(Math.ceil(end / widest) * widest);
  entries.forEach((e, i) => {
    const data = e.data.length === 0 ? [1] : e.data;
    const View = e.type === 'int32' ? Int32Array : e.type === 'uint32' ? Uint32Array : Float32Array;
    new View(bytes, offsets[i], data.length).set(data);
  });
  return bytes;
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** What a positional kernel's stage dispatches at a position: its shader's key, workgroups and own uniforms. */
export interface StageDispatch {
  key: string;
  dispatch: [number, number, number];
  /** Its program-defined uniforms, as passed to runWebGPUProgram (one entry per scalar). */
  uniforms: UniformEntry[];
}

/** A positional kernel call's stages `shift` positions after the recorded call. */
export type Recompute = (shift: number) => StageDispatch[];

interface GpuBuffer {
  size: number;
  destroy(): void;
}

/** One dispatch as a trace: its program, pipeline, workgroups and uniform bytes. */
export interface DispatchTrace {
  shader: string;
  pipeline: object;
  dims: number[];
  uniforms: number[];
}

/** A recording's dispatches as traces (Graph.trace's shape), for tests. */
export function traceOf(rec: StepRecording): DispatchTrace[] {
  if (!(rec instanceof Recording)) throw new Error('step graph: traceOf takes a recording from record()');
  return rec.recorded.map((d) => ({ shader: d.shader, pipeline: d.pipeline, dims: [...d.dims], uniforms: [...new Uint8Array(uniformBytes(d.entries))] }));
}

/** One recorded dispatch. */
interface Recorded {
  pipeline: { getBindGroupLayout(i: number): object };
  /** The program's name (the head of its tfjs shader key), for refusals. */
  shader: string;
  dims: [number, number, number];
  /** Every uniform entry: tfjs's own (NaN, Infinity, shapes, strides, size) and then the program's. */
  entries: UniformEntry[];
  /** How many of `entries` are the program's (the tail). */
  own: number;
  /** The output's buffer, then the inputs'. */
  buffers: GpuBuffer[];
  /** For a positional kernel: which call of the step, which of its stages, and how to recompute it. */
  call?: { id: number; stage: number; stages: number; key: string; recompute: Recompute };
}

interface WebgpuBackendInternals {
  device: {
    createBuffer(d: { size: number; usage: number }): GpuBuffer;
    createBindGroup(d: object): object;
    createCommandEncoder(): CommandEncoder;
    queue: { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBuffer): void; submit(c: object[]): void };
    limits: { maxComputeWorkgroupsPerDimension: number };
  };
  tensorMap: { get(id: object): { values: unknown; resource: unknown; dtype: string; shape: number[] } | undefined };
  bufferManager: { releaseBuffer(b: GpuBuffer, reuse?: boolean): void };
  commandEncoder: object | null;
  activeTimers: unknown[] | null | undefined;
  recordAndSubmit(program: object, output: tf.TensorInfo, inputs: tf.TensorInfo[], uniforms?: object[]): void;
  makeUniforms(entries: UniformEntry[]): { size: number };
  uploadToGPU(dataId: object): void;
  copyBuffer(src: GpuBuffer): GpuBuffer;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
  makeTensorInfo(shape: number[], dtype: string): tf.TensorInfo;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

interface CommandEncoder {
  copyBufferToBuffer(src: GpuBuffer, srcOffset: number, dst: GpuBuffer, dstOffset: number, size: number): void;
  beginComputePass(d?: object): { setPipeline(p: object): void; setBindGroup(i: number, g: object): void; dispatchWorkgroups(x: number, y: number, z: number): void; end(): void };
  finish(): object;
}

const UNIFORM_USAGE = 0x0040 | 0x0008; // GPUBufferUsage.UNIFORM | COPY_DST

/**
 * The most bytes of intermediates (buffers the step frees) a recording may hold. Eager steps reuse one layer's
 * intermediates for the next through the pool; a recording pins every layer's, and two recordings and a graph are
 * alive at once, so at batch 16 × 16k in latent mode (its keys and values re-expanded per head, ~0.8 GB a layer) the
 * device ran out of memory (2026-12-07, H100). Steps that large take tens of milliseconds on the GPU, where the
 * ~5 ms of host time a graph saves does not matter.
 */
export const GRAPH_HELD_BYTES_MAX = 256 * 2 ** 20;

/** The buffers pinned by live recordings (a count each), and those tfjs released meanwhile, held back. */
class Pins {
  private readonly counts = new Map<GpuBuffer, number>();
  private readonly held = new Map<GpuBuffer, boolean>();
  constructor(private readonly release: (b: GpuBuffer, reuse: boolean) => void) {}
  pin(b: GpuBuffer): void {
    this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
  }
  unpin(b: GpuBuffer): void {
    const n = (this.counts.get(b) ?? 0) - 1;
    if (n > 0) return void this.counts.set(b, n);
    this.counts.delete(b);
    const reuse = this.held.get(b);
    if (reuse !== undefined) {
      this.held.delete(b);
      this.release(b, reuse);
    }
  }
  /** tfjs releasing `b`: true when it is pinned and so held back. */
  hold(b: GpuBuffer, reuse: boolean): boolean {
    if (!this.counts.has(b)) return false;
    this.held.set(b, reuse);
    return true;
  }
}

/** The call of a positional kernel running now, while a step is recorded. */
let currentCall: { id: number; recompute: Recompute; stages: StageDispatch[]; stage: number } | null = null;
let nextCallId = 1;
/** The recording in progress, if any. */
let active: Recording | null = null;

/**
 * Runs a kernel whose dispatches depend on the decode position through `recompute` (each stage at a shifted
 * position). Outside a recording it only runs: the cost of a check.
 */
export function positionalCall<T>(recompute: Recompute, run: () => T): T {
  if (active === null) return run();
  const outer = currentCall;
  currentCall = { id: nextCallId++, recompute, stages: recompute(0), stage: 0 };
  try {
    return run();
  } finally {
    currentCall = outer;
  }
}

class Recording implements StepRecording {
  readonly recorded: Recorded[] = [];
  readonly uploads: number[][] = [];
  unusable: string | null = null;
  inputBuffers: GpuBuffer[] = [];
  outputs: { buffer: GpuBuffer; shape: number[]; dtype: string }[] = [];
  private readonly pinned: GpuBuffer[] = [];
  /** Buffers tfjs released during the step that the pins held back: its intermediates. */
  readonly held = new Set<GpuBuffer>();
  private disposed = false;
  constructor(private readonly pins: Pins) {}
  get dispatches(): number {
    return this.recorded.length;
  }
  pin(b: GpuBuffer): void {
    this.pins.pin(b);
    this.pinned.push(b);
  }
  refuse(reason: string): void {
    this.unusable ??= reason;
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.pinned) this.pins.unpin(b);
    this.pinned.length = 0;
  }
}

function bufferOf(backend: WebgpuBackendInternals, t: tf.TensorInfo): GpuBuffer | null {
  const r = backend.tensorMap.get(t.dataId)?.resource as GpuBuffer | undefined;
  return r && typeof r.size === 'number' ? r : null;
}

const sameDims = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i])); // NaN is a uniform tfjs passes
const sameEntries = (a: UniformEntry[], b: UniformEntry[]) => a.length === b.length && a.every((e, i) => e.type === b[i].type && sameDims(e.data, b[i].data));

/** d's uniform entries with its program's own replaced by `own`. */
function withOwn(d: Recorded, own: UniformEntry[]): UniformEntry[] {
  return [...d.entries.slice(0, d.entries.length - d.own), ...own];
}

/** The checks of lib/ops/step-graph.ts: null when `later` may be replayed, else why not. */
export function graphRefusal(earlier: Recording, later: Recording): string | null {
  if (earlier.unusable || later.unusable) return earlier.unusable ?? later.unusable;
  if (earlier.recorded.length !== later.recorded.length) return `the two steps issued ${earlier.recorded.length} and ${later.recorded.length} dispatches`;
  if (earlier.uploads.length !== later.uploads.length || earlier.uploads.some((u, i) => !sameDims(u, later.uploads[i]))) return 'the step uploads values that change with the position';
  for (let i = 0; i < later.recorded.length; i++) {
    const a = earlier.recorded[i];
    const b = later.recorded[i];
    const at = `dispatch ${i + 1} of ${later.recorded.length} (${b.shader})`;
    if (a.pipeline !== b.pipeline) return `${at} ran another shader one position on`;
    if (!!a.call !== !!b.call || (a.call && b.call && (a.call.stage !== b.call.stage || a.call.stages !== b.call.stages))) return `${at}: the positional kernels differ between the two steps`;
    if (!b.call) {
      if (!sameDims(a.dims, b.dims) || !sameEntries(a.entries, b.entries)) return `${at}, a kernel with no positional attributes, took other uniforms or workgroups one position on`;
      continue;
    }
    const now = b.call.recompute(0)[b.call.stage];
    const before = b.call.recompute(-1)[b.call.stage];
    if (!now || !sameDims(now.dispatch, b.dims) || !sameBytes(uniformBytes(withOwn(b, now.uniforms)), uniformBytes(b.entries))) return `${at}: its positional recomputation does not reproduce the dispatch it recomputes`;
    if (!before || before.key !== b.call.key || !sameDims(before.dispatch, a.dims) || !sameBytes(uniformBytes(withOwn(b, before.uniforms)), uniformBytes(a.entries))) {
      return `${at}: recomputed one position back, it does not match the step recorded there (an attribute that depends on the position is not declared positional)`;
    }
  }
  return null;
}

class Graph implements StepGraph {
  private readonly groups: object[];
  private readonly uniformBuffers: GpuBuffer[];
  private readonly current: ArrayBuffer[];
  private readonly dims: [number, number, number][];
  /** The positional calls: where their stages are among the dispatches. */
  private readonly calls: { recompute: Recompute; key: string[]; at: number[] }[] = [];
  private disposed = false;

  constructor(
    private readonly backend: WebgpuBackendInternals,
    private readonly rec: Recording,
  ) {
    const device = backend.device;
    this.current = rec.recorded.map((d) => uniformBytes(d.entries));
    this.dims = rec.recorded.map((d) => [...d.dims] as [number, number, number]);
    this.uniformBuffers = this.current.map((bytes) => {
      const ub = device.createBuffer({ size: bytes.byteLength, usage: UNIFORM_USAGE });
      device.queue.writeBuffer(ub, 0, bytes);
      return ub;
    });
    this.groups = rec.recorded.map((d, i) =>
      device.createBindGroup({
        layout: d.pipeline.getBindGroupLayout(0),
        entries: [...d.buffers.map((buffer, j) => ({ binding: j, resource: { buffer } })), { binding: d.buffers.length, resource: { buffer: this.uniformBuffers[i] } }],
      }),
    );
    const byCall = new Map<number, { recompute: Recompute; key: string[]; at: number[] }>();
    rec.recorded.forEach((d, i) => {
      if (!d.call) return;
      let c = byCall.get(d.call.id);
      if (!c) byCall.set(d.call.id, (c = { recompute: d.call.recompute, key: [], at: [] }));
      c.key.push(d.call.key);
      c.at.push(i);
    });
    this.calls = [...byCall.values()];
  }

  get dispatches(): number {
    return this.rec.recorded.length;
  }

  /**
   * The positional kernels' dispatches `shift` positions after the recorded step: each one's index, workgroups and
   * uniform bytes (every other dispatch is as recorded). Null when a positional kernel would take another shader or
   * stage count there.
   */
  private plan(shift: number): { i: number; dims: [number, number, number]; bytes: ArrayBuffer }[] | null {
    const limit = this.backend.device.limits.maxComputeWorkgroupsPerDimension;
    const changes: { i: number; dims: [number, number, number]; bytes: ArrayBuffer }[] = [];
    for (const c of this.calls) {
      const stages = c.recompute(shift);
      if (stages.length !== c.at.length) return null;
      for (let s = 0; s < stages.length; s++) {
        const st = stages[s];
        const i = c.at[s];
        if (st.key !== c.key[s] || st.dispatch.some((n) => n > limit)) return null;
        const bytes = uniformBytes(withOwn(this.rec.recorded[i], st.uniforms));
        if (bytes.byteLength !== this.current[i].byteLength) return null;
        changes.push({ i, dims: st.dispatch, bytes });
      }
    }
    return changes;
  }

  /** What a replay `shift` positions on would dispatch (for tests: compare it with an eager step's recording). */
  trace(shift: number): DispatchTrace[] | null {
    const changes = this.plan(shift);
    if (!changes) return null;
    const dims = this.rec.recorded.map((d) => d.dims);
    const bytes = this.rec.recorded.map((d) => uniformBytes(d.entries));
    for (const c of changes) [dims[c.i], bytes[c.i]] = [c.dims, c.bytes];
    return this.rec.recorded.map((d, i) => ({ shader: d.shader, pipeline: d.pipeline, dims: [...dims[i]], uniforms: [...new Uint8Array(bytes[i])] }));
  }

  replay(shift: number, inputs: tf.Tensor[], written: tf.Tensor[] = []): tf.Tensor[] | null {
    if (this.disposed) throw new Error('step graph: replay after dispose');
    const b = this.backend;
    if (inputs.length !== this.rec.inputBuffers.length) throw new Error(`step graph: replay given ${inputs.length} inputs, recorded with ${this.rec.inputBuffers.length}`);
    const changes = this.plan(shift);
    if (!changes) return null;
    const writes: [number, ArrayBuffer][] = [];
    for (const c of changes) {
      if (!sameBytes(c.bytes, this.current[c.i])) writes.push([c.i, c.bytes]);
      this.dims[c.i] = c.dims;
    }
    const sources = inputs.map((t, i) => {
      b.uploadToGPU(t.dataId);
      const src = bufferOf(b, t);
      if (!src || src.size !== this.rec.inputBuffers[i].size) throw new Error(`step graph: input ${i} (${t.shape}, ${t.dtype}) does not match the recorded input's ${this.rec.inputBuffers[i].size} bytes`);
      return src;
    });
    // tfjs's own commands still waiting (an upload above, the work that made the inputs) go first.
    if (b.commandEncoder) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
    for (const [i, bytes] of writes) {
      b.device.queue.writeBuffer(this.uniformBuffers[i], 0, bytes);
      this.current[i] = bytes;
    }
    const enc = b.device.createCommandEncoder();
    // An input given again as the very tensor the step was recorded with (a caller feeding one token tensor every
    // step) is already in the recorded buffer: copying a buffer onto itself is a validation error.
    sources.forEach((src, i) => src !== this.rec.inputBuffers[i] && enc.copyBufferToBuffer(src, 0, this.rec.inputBuffers[i], 0, src.size));
    const pass = enc.beginComputePass();
    this.rec.recorded.forEach((d, i) => {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, this.groups[i]);
      pass.dispatchWorkgroups(this.dims[i][0], this.dims[i][1], this.dims[i][2]);
    });
    pass.end();
    const outs = this.rec.outputs.map((o) => {
      const info = b.makeTensorInfo(o.shape, o.dtype);
      b.uploadToGPU(info.dataId); // a buffer from the pool, nothing written
      const dst = bufferOf(b, info)!;
      enc.copyBufferToBuffer(o.buffer, 0, dst, 0, Math.min(o.buffer.size, dst.size));
      return tf.engine().makeTensorFromTensorInfo(info);
    });
    b.device.queue.submit([enc.finish()]);
    for (const t of written) {
      const d = b.tensorMap.get(t.dataId);
      if (d) d.values = null;
    }
    countReplayedDispatches(this.rec.recorded.length);
    return outs;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const ub of this.uniformBuffers) ub.destroy();
    this.rec.dispose();
  }
}

/** Backends whose methods are wrapped already. */
const installed = new WeakSet<object>();

function define(o: object, name: string, value: unknown): void {
  Object.defineProperty(o, name, { value, configurable: true, writable: true });
}

/**
 * Wraps the active webgpu backend's methods for recording and registers its step graphs (MLA_DECODE_GRAPH=on).
 * False when there is no webgpu backend or it lacks the internals named above.
 */
export function installStepGraphs(): boolean {
  const backend = tf.findBackend('webgpu') as unknown as WebgpuBackendInternals | null;
  if (!backend || typeof backend.recordAndSubmit !== 'function' || typeof backend.makeUniforms !== 'function' || !backend.bufferManager) return false;
  if (!installed.has(backend)) {
    installed.add(backend);
    const manager = backend.bufferManager;
    const release = manager.releaseBuffer.bind(manager);
    const pins = new Pins((buf, reuse) => release(buf, reuse));
    define(manager, 'releaseBuffer', (buf: GpuBuffer, reuse = true) => {
      if (!pins.hold(buf, reuse)) return release(buf, reuse);
      active?.held.add(buf); // an intermediate of the step being recorded, held out of the pool
    });
    let entries: UniformEntry[] | null = null;
    const makeUniforms = backend.makeUniforms.bind(backend);
    define(backend, 'makeUniforms', (e: UniformEntry[]) => {
      const r = makeUniforms(e);
      if (active) entries = e.map((x) => ({ type: x.type, data: [...x.data] }));
      return r;
    });
    const record = backend.recordAndSubmit.bind(backend);
    define(backend, 'recordAndSubmit', (program: { pipeline: Recorded['pipeline']; dispatch: [number, number, number]; shaderKey?: string }, output: tf.TensorInfo, inputs: tf.TensorInfo[], own?: object[]) => {
      if (!active) return record(program, output, inputs, own);
      entries = null;
      record(program, output, inputs, own);
      const rec = active;
      const buffers = [output, ...inputs].map((t) => bufferOf(backend, t));
      if (!entries || buffers.some((x) => x === null)) {
        rec.refuse('a dispatch bound something other than buffers');
        return;
      }
      const call = currentCall;
      const stage = call ? call.stages[call.stage] : undefined;
      if (call && !stage) rec.refuse(`a positional kernel issued more dispatches than the ${call.stages.length} stages it declares`);
      for (const x of buffers) rec.pin(x!);
      rec.recorded.push({
        pipeline: program.pipeline, shader: (program.shaderKey ?? '?').split(/[_ ]/)[0], dims: [...program.dispatch] as [number, number, number], entries, own: own?.length ?? 0, buffers: buffers as GpuBuffer[],
        ...(call && stage ? { call: { id: call.id, stage: call.stage, stages: call.stages.length, key: stage.key, recompute: call.recompute } } : {}),
      });
      if (call) call.stage++;
    });
    const upload = backend.uploadToGPU.bind(backend);
    define(backend, 'uploadToGPU', (dataId: object) => {
      const d = backend.tensorMap.get(dataId);
      if (active && d && d.values && !d.resource) active.uploads.push(Array.from(d.values as ArrayLike<number>));
      return upload(dataId);
    });
    const copy = backend.copyBuffer.bind(backend);
    define(backend, 'copyBuffer', (src: GpuBuffer) => (active?.refuse('the step copies a buffer (tfjs copyBuffer)'), copy(src)));
    const read = backend.read.bind(backend);
    define(backend, 'read', (id: object) => (active?.refuse('the step reads a tensor back'), read(id)));
    const readSync = backend.readSync.bind(backend);
    define(backend, 'readSync', (id: object) => (active?.refuse('the step reads a tensor back'), readSync(id)));
    registerStepGraphs('webgpu', impl(backend, pins));
  }
  return true;
}

function impl(backend: WebgpuBackendInternals, pins: Pins): StepGraphBackend {
  return {
    record<T>(run: () => T, inputs: tf.Tensor[], outputs: (r: T) => tf.Tensor[]) {
      if (active) throw new Error('step graph: a step is already being recorded; record one step at a time');
      const rec = new Recording(pins);
      if (backend.activeTimers) rec.refuse('the step ran under tf.profile');
      for (const t of inputs) backend.uploadToGPU(t.dataId);
      active = rec;
      let result: T;
      try {
        result = run();
      } catch (err) {
        rec.dispose();
        throw err;
      } finally {
        active = null;
      }
      const written = new Set(rec.recorded.map((d) => d.buffers[0]));
      const read = new Set(rec.recorded.flatMap((d) => d.buffers.slice(1)));
      rec.inputBuffers = inputs.map((t) => bufferOf(backend, t)!);
      if (rec.inputBuffers.some((x) => !x || !read.has(x))) rec.refuse('the step does not read its input through a dispatch');
      rec.outputs = outputs(result).map((t) => ({ buffer: bufferOf(backend, t)!, shape: [...t.shape], dtype: t.dtype }));
      if (rec.outputs.some((o) => !o.buffer || !written.has(o.buffer))) rec.refuse('an output of the step is not written by a dispatch');
      for (const x of [...rec.inputBuffers, ...rec.outputs.map((o) => o.buffer)]) if (x) rec.pin(x);
      let heldBytes = 0;
      for (const x of rec.held) heldBytes += x.size;
      if (heldBytes > GRAPH_HELD_BYTES_MAX) {
        rec.refuse(`the step's intermediates take ${(heldBytes / 2 ** 20).toFixed(0)} MiB, which a graph would hold out of the pool (at most ${GRAPH_HELD_BYTES_MAX / 2 ** 20} MiB): a step this large is bound by the GPU, not by its dispatches`);
      }
      return { result, recording: rec };
    },
    graph(earlier: StepRecording, later: StepRecording) {
      if (!(earlier instanceof Recording) || !(later instanceof Recording)) throw new Error('step graph: recordings come from record()');
      const why = graphRefusal(earlier, later);
      return why ?? new Graph(backend, later);
    },
  };
}
