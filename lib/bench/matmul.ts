// Matrix-multiply throughput of tf.matMul on the active backend next to the BLAS it calls, in one run:
// the ratio says how much tfjs's kernel plumbing (dispatch, output allocation) costs on top of sgemm.
//
// Shapes: "single" is (n, n)·(n, n); "batched" is (8, n, n)·(8, n, n), the batched layout attention
// uses for (B·H) score matrices. FLOPs are 2·batch·n³. The BLAS column calls the addon's sgemm on the
// same inputs into a preallocated output (batched: one sgemm per matrix).
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon } from '../backend';
import { type RepeatOptions, timeInterleaved } from './record';
import { median } from '../experiments/stats';

export const BATCHED_COUNT = 8;

export interface MatmulBenchOptions extends RepeatOptions {
  sizes: number[];
  /** Which layouts: single (n, n)·(n, n), batched (8, n, n)·(8, n, n). */
  modes: ('single' | 'batched')[];
  seed: number;
}

export interface MatmulRow {
  mode: 'single' | 'batched';
  n: number;
  batch: number;
  gflop: number;
  tfMs: number;
  tfGflops: number;
  /** The addon's raw sgemm (null when the addon is not built). */
  blasMs: number | null;
  blasGflops: number | null;
  /** tfGflops / blasGflops. */
  ratio: number | null;
  repeats: number;
}

export const MATMUL_DEFAULTS: MatmulBenchOptions = {
  sizes: [256, 512, 1024, 2048],
  modes: ['single', 'batched'],
  seed: 1,
  warmup: 3,
  warmupMs: 2000,
  minRepeats: 5,
  maxRepeats: 200,
  budgetMs: 3000,
};

export async function runMatmulBench(opts: MatmulBenchOptions, onRow?: (row: MatmulRow) => void): Promise<MatmulRow[]> {
  const addon = loadAddon().addon;
  const rows: MatmulRow[] = [];
  for (const mode of opts.modes) {
    for (const n of opts.sizes) {
      const batch = mode === 'batched' ? BATCHED_COUNT : 1;
      const shape = mode === 'batched' ? [batch, n, n] : [n, n];
      const a = tf.randomNormal(shape, 0, 1, 'float32', opts.seed);
      const b = tf.randomNormal(shape, 0, 1, 'float32', opts.seed + 1);
      const av = a.dataSync() as Float32Array;
      const bv = b.dataSync() as Float32Array;
      const out = new Float32Array(batch * n * n);
      const viaTf = async () => {
        const c = tf.matMul(a, b);
        await c.data(); // waits for asynchronous backends; free on the CPU backend
        c.dispose();
      };
      const viaBlas = () => {
        for (let i = 0; i < batch; i++) {
          const off = i * n * n;
          addon!.sgemm(false, false, n, n, n, av.subarray(off, off + n * n), bv.subarray(off, off + n * n), out.subarray(off, off + n * n));
        }
      };
      // The raw entry reads the inputs' host copies, so it only compares like with like on the CPU backend.
      const withBlas = addon !== null && tf.getBackend() === 'cpu';
      const times = await timeInterleaved(withBlas ? [viaTf, viaBlas] : [viaTf], opts);
      const gflop = (2 * batch * n ** 3) / 1e9;
      const tfMs = median(times[0]);
      const blasMs = withBlas ? median(times[1]) : null;
      const row: MatmulRow = {
        mode,
        n,
        batch,
        gflop,
        tfMs,
        tfGflops: gflop / (tfMs / 1000),
        blasMs,
        blasGflops: blasMs === null ? null : gflop / (blasMs / 1000),
        ratio: blasMs === null ? null : blasMs / tfMs,
        repeats: times[0].length,
      };
      rows.push(row);
      onRow?.(row);
      tf.dispose([a, b]);
    }
  }
  return rows;
}
