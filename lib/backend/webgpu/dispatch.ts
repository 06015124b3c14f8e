// Host time per WebGPU dispatch. tfjs-backend-webgpu asks each dispatch's pipeline for its bind group layout
// (pipeline.getBindGroupLayout(0)), a call into Dawn's Node binding that builds a new wrapper object every
// time; the layout of a pipeline never changes, so it is fetched once per pipeline and reused.
// scripts/device/dispatch-bench.js measures what it saves.
import * as tf from '@tensorflow/tfjs-core';

type Pipeline = { getBindGroupLayout(index: number): unknown };

const MEMOIZED = Symbol('mla.layoutMemoized');

function memoizeLayout(pipeline: unknown): void {
  const p = pipeline as Pipeline & { [MEMOIZED]?: true };
  if (!p || typeof p.getBindGroupLayout !== 'function' || p[MEMOIZED]) return;
  const original = p.getBindGroupLayout.bind(p);
  let first: unknown;
  try {
    Object.defineProperty(p, 'getBindGroupLayout', { value: (i: number) => (i === 0 ? (first ??= original(0)) : original(i)) });
    Object.defineProperty(p, MEMOIZED, { value: true });
  } catch {
    // A binding whose objects refuse own properties keeps the per-dispatch call.
  }
}

/** Applies the memo to the pipelines the webgpu backend has compiled and every one it compiles later. */
export function memoizeBindGroupLayouts(): boolean {
  const backend = tf.findBackend('webgpu') as unknown as { pipelineCache?: Record<string, unknown> } | null;
  if (!backend?.pipelineCache) return false;
  const cache = backend.pipelineCache;
  for (const p of Object.values(cache)) memoizeLayout(p);
  backend.pipelineCache = new Proxy(cache, {
    set(target, key, value) {
      memoizeLayout(value); // a Promise (parallel compilation) has no getBindGroupLayout and is left alone
      (target as Record<string | symbol, unknown>)[key] = value;
      return true;
    },
  });
  return true;
}

/** Bind groups kept before the cache starts over (a training step of the 35M models makes ~1,000). */
const BIND_GROUPS_KEPT = 16384;

/** Devices whose createBindGroup is already wrapped (a re-created backend brings a new device). */
const cachedDevices = new WeakSet<object>();

/**
 * Reuses bind groups: a dispatch whose layout and buffers (tfjs pools and reuses buffers, so a training step
 * meets the same ones every step) were bound before gets the same GPUBindGroup instead of a new one from Dawn.
 * A bind group refers to buffers, not their contents, so reuse is exact. Buffers are told apart by identity
 * (never by value), so a destroyed buffer's bind groups can never be hit again; they are dropped when the
 * cache starts over. The layout is part of the key, so hits need memoizeBindGroupLayouts (tfjs asks the
 * pipeline for a new layout object at every dispatch).
 */
export function cacheBindGroups(): boolean {
  const backend = tf.findBackend('webgpu') as unknown as { device?: { createBindGroup(d: BindGroupDescriptor): unknown } } | null;
  const device = backend?.device;
  if (!device || cachedDevices.has(device)) return false;
  const create = device.createBindGroup.bind(device);
  const ids = new WeakMap<object, number>();
  let next = 1;
  const idOf = (o: object) => {
    let v = ids.get(o);
    if (v === undefined) ids.set(o, (v = next++));
    return v;
  };
  const cache = new Map<string, unknown>();
  const cached = (d: BindGroupDescriptor) => {
    let key = String(idOf(d.layout));
    for (const e of d.entries) {
      const r = e.resource as { buffer?: object; offset?: number; size?: number };
      if (!r?.buffer) return create(d); // textures and samplers: not cached
      key += `|${e.binding}:${idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
    }
    let group = cache.get(key);
    if (group === undefined) {
      if (cache.size >= BIND_GROUPS_KEPT) cache.clear();
      group = create(d);
      cache.set(key, group);
    }
    return group;
  };
  try {
    Object.defineProperty(device, 'createBindGroup', { value: cached, configurable: true });
  } catch {
    return false;
  }
  cachedDevices.add(device);
  return true;
}

interface BindGroupDescriptor {
  layout: object;
  entries: { binding: number; resource: unknown }[];
}

/** The backend whose recordAndSubmit is counted, and its count of compute dispatches so far. */
let counted: object | null = null;
let dispatchCount = 0;

/**
 * Counts every compute dispatch the webgpu backend records (tfjs's recordAndSubmit: one per shader run, so a
 * kernel of two stages, a split pass and its combine, counts two; buffer copies and uploads count none). A
 * counter and a call per dispatch: nothing a step would notice.
 */
export function countDispatches(): boolean {
  const backend = tf.findBackend('webgpu') as unknown as { recordAndSubmit?: (...a: unknown[]) => unknown } | null;
  if (!backend || typeof backend.recordAndSubmit !== 'function') return false;
  if (counted === backend) return true;
  const record = backend.recordAndSubmit.bind(backend);
  try {
    Object.defineProperty(backend, 'recordAndSubmit', { value: (...a: unknown[]) => (dispatchCount++, record(...a)), configurable: true });
  } catch {
    return false;
  }
  counted = backend;
  dispatchCount = 0;
  return true;
}

/** Adds the dispatches a step graph replayed (lib/backend/webgpu/step-graph.ts), which bypass recordAndSubmit. */
export function countReplayedDispatches(n: number): void {
  if (counted !== null) dispatchCount += n;
}

/** Compute dispatches recorded so far on the active webgpu backend; null when that backend is not counted. */
export function gpuDispatchCount(): number | null {
  return counted !== null && tf.findBackend('webgpu') === counted && tf.getBackend() === 'webgpu' ? dispatchCount : null;
}
