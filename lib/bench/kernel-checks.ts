// Checks and timings of single kernels on the active backend (written for WebGPU on the GPU machine):
// the fused causal attention against the unfused core, and the host time per dispatch with and without the
// dispatch caches. Each runs inside a Dawn error scope: a dropped command buffer is an error, not a result.
// Shape legend: BH batch·heads, T time, D query/key head dim, Dv value head dim.
import * as tf from '@tensorflow/tfjs-core';
import { cacheBindGroups, gpuErrorScope, memoizeBindGroupLayouts } from '../backend';
import { unfusedCausalAttention } from '../attention/core';
import { type Spread, spread } from '../experiments/stats';
import { flashAttention } from '../ops';
import { errorLine } from './train';

export interface FlashShape {
  BH: number;
  T: number;
  D: number;
  Dv: number;
}

/**
 * The 35M training shape (B·H = 8·16, T 1024, head dim 32: MLA with RoPE concatenates its 16-dim no-RoPE and
 * RoPE parts), ragged lengths and other head dims (tile sizes change with D + Dv), one query.
 */
export const FLASH_SHAPES: readonly FlashShape[] = [
  { BH: 128, T: 1024, D: 32, Dv: 32 },
  { BH: 6, T: 130, D: 20, Dv: 12 },
  { BH: 4, T: 1000, D: 64, Dv: 64 },
  { BH: 32, T: 1, D: 16, Dv: 16 },
];
/** fp32 on both sides, different summation orders: a wrong kernel is off by order 1. */
export const FLASH_REL_TOL = 1e-4;

export interface FlashRow extends FlashShape {
  ok: boolean;
  /** Largest |fused − unfused| of O, dQ, dK, dV, relative to the reference's largest magnitude (or 1). */
  relErr?: Record<'O' | 'dQ' | 'dK' | 'dV', number>;
  /** Forward + backward, ended by reading one number, after two untimed repetitions. */
  forwardBackwardMs?: { fused: Spread; unfused: Spread };
  error?: string;
}

type Attn = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor;

async function flashCase(s: FlashShape, reps: number): Promise<FlashRow> {
  const { BH, T, D, Dv } = s;
  const scale = 1 / Math.sqrt(D);
  const q = tf.randomNormal([BH, T, D], 0, 1.5, 'float32', 1);
  const k = tf.randomNormal([BH, T, D], 0, 1.5, 'float32', 2);
  const v = tf.randomNormal([BH, T, Dv], 0, 1, 'float32', 3);
  const dy = tf.randomNormal([BH, T, Dv], 0, 1, 'float32', 4);
  const impls: Record<'fused' | 'unfused', Attn> = {
    fused: (a, b, c) => flashAttention(a as tf.Tensor3D, b as tf.Tensor3D, c as tf.Tensor3D, scale),
    unfused: (a, b, c) =>
      tf.squeeze(unfusedCausalAttention([{ q: tf.expandDims(a, 0) as tf.Tensor4D, k: tf.expandDims(b, 0) as tf.Tensor4D }], tf.expandDims(c, 0) as tf.Tensor4D, { qStart: 0, scale }), [0]),
  };
  const run = (f: Attn) => {
    const y = f(q, k, v);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), dy)))([q, k, v]);
    return [y, ...grads];
  };
  try {
    const got = run(impls.fused);
    const want = run(impls.unfused);
    const relErr = {} as Record<'O' | 'dQ' | 'dK' | 'dV', number>;
    const names = ['O', 'dQ', 'dK', 'dV'] as const;
    for (let i = 0; i < 4; i++) {
      const d = tf.max(tf.abs(tf.sub(got[i], want[i])));
      const m = tf.max(tf.abs(want[i]));
      const [diff, mag] = [(await d.data())[0], (await m.data())[0]];
      tf.dispose([d, m]);
      // Relative to the largest magnitude, or to 1 where the exact gradient is ~0 (one key: dQ = dK = 0).
      relErr[names[i]] = Number.isNaN(diff) ? Infinity : diff / Math.max(mag, 1);
    }
    tf.dispose([...got, ...want]);
    const ms = {} as { fused: Spread; unfused: Spread };
    for (const name of ['fused', 'unfused'] as const) {
      const times: number[] = [];
      for (let r = 0; r < reps + 2; r++) {
        const t0 = performance.now();
        const out = run(impls[name]);
        const sum = tf.addN(out.map((t) => tf.sum(t)));
        await sum.data();
        if (r >= 2) times.push(performance.now() - t0);
        tf.dispose([...out, sum]);
      }
      ms[name] = spread(times);
    }
    return { ...s, relErr, ok: Object.values(relErr).every((e) => e <= FLASH_REL_TOL), forwardBackwardMs: ms };
  } finally {
    tf.dispose([q, k, v, dy]);
  }
}

export interface FlashCheck {
  relTol: number;
  ok: boolean;
  rows: FlashRow[];
}

/** Every shape of FLASH_SHAPES (or `shapes`) on the active backend, which must have the fused kernels. */
export async function runFlashCheck(reps = 10, shapes: readonly FlashShape[] = FLASH_SHAPES, onRow?: (r: FlashRow) => void): Promise<FlashCheck> {
  const rows: FlashRow[] = [];
  for (const s of shapes) {
    const scope = gpuErrorScope();
    let row: FlashRow;
    try {
      row = await flashCase(s, reps);
    } catch (err) {
      row = { ...s, ok: false, error: errorLine(err) };
    }
    const gpuError = await scope.end();
    if (gpuError) row = { ...row, ok: false, error: `GPU ${gpuError}` };
    rows.push(row);
    onRow?.(row);
  }
  return { relTol: FLASH_REL_TOL, ok: rows.every((r) => r.ok), rows };
}

/** Elements of each addition: above tfjs-webgpu's CPU hand-off size (1,000), so each one is a shader dispatch. */
const DISPATCH_ELEMENTS = 65536;

async function dispatchRound(ops: number): Promise<{ hostUsPerOp: number; wallUsPerOp: number }> {
  const x = tf.ones([DISPATCH_ELEMENTS]);
  await x.data();
  const t0 = performance.now();
  let y = tf.add(x, x);
  for (let i = 1; i < ops; i++) {
    const z = tf.add(y, x);
    y.dispose();
    y = z;
  }
  const t1 = performance.now();
  await y.data();
  const t2 = performance.now();
  tf.dispose([x, y]);
  return { hostUsPerOp: ((t1 - t0) * 1000) / ops, wallUsPerOp: ((t2 - t0) * 1000) / ops };
}

export interface DispatchBench {
  ops: number;
  layoutMemoApplied: boolean;
  bindGroupCacheApplied: boolean;
  /** Host microseconds per op until the last is issued, per configuration, over three rounds each. */
  hostUsPerOp: { tfjs: Spread; layoutMemo: Spread; bindGroupCache: Spread };
  rounds: Record<'tfjs' | 'layoutMemo' | 'bindGroupCache', { hostUsPerOp: number; wallUsPerOp: number }[]>;
  gpuError: string | null;
}

/**
 * Host time per WebGPU dispatch: `ops` additions issued back to back, timed until the last is issued (host) and
 * until its result is read (wall), in rounds: tfjs as it is, then with the bind group layout memo, then with
 * the bind group cache too. The backend must have been started with both caches off (the CLI does this), so the
 * first rounds are tfjs's own.
 */
export async function runDispatchBench(ops = 3000): Promise<DispatchBench> {
  const scope = gpuErrorScope();
  await dispatchRound(200); // compile and warm
  const three = async () => [await dispatchRound(ops), await dispatchRound(ops), await dispatchRound(ops)];
  const tfjs = await three();
  const layoutMemoApplied = memoizeBindGroupLayouts();
  const layoutMemo = await three();
  const bindGroupCacheApplied = cacheBindGroups();
  const bindGroupCache = await three();
  const host = (rs: { hostUsPerOp: number }[]) => spread(rs.map((r) => r.hostUsPerOp));
  return {
    ops,
    layoutMemoApplied,
    bindGroupCacheApplied,
    hostUsPerOp: { tfjs: host(tfjs), layoutMemo: host(layoutMemo), bindGroupCache: host(bindGroupCache) },
    rounds: { tfjs, layoutMemo, bindGroupCache },
    gpuError: await scope.end(),
  };
}
