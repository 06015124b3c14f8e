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
