// The project's WebGPU matmul shader on the GPU machine: correctness of every forced tile plan (with and without
// split-K) for every transpose case, one-sided broadcast, 4-D batches and ragged edges against a float64 loop and
// tfjs's own shader; the dropout-mask shader against the host's hash bit for bit; then TFLOP/s of tfjs's shader,
// forced plans and the settings' policy ('auto') at the products of a 35M training step, alternating, in two
// rounds (the second is kept: clocks ramp up). The whole run is in a Dawn error scope.
// Shape legend: M rows, K inner, N columns.
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, dropoutMask, gpuErrorScope, maskAttrs, maskValues, setTiledMatMul } from '../backend';
import { type Spread, spread } from '../experiments/stats';

type MatMulSetting = Parameters<typeof setTiledMatMul>[0];

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** C = op(A)·op(B) by loops in float64, batch broadcast as tfjs does for one side of batch 1. */
export function loopMatMul(a: Float32Array, as: number[], b: Float32Array, bs: number[], tA: boolean, tB: boolean): Float64Array {
  const ra = as.length;
  const rb = bs.length;
  const M = tA ? as[ra - 1] : as[ra - 2];
  const K = tA ? as[ra - 2] : as[ra - 1];
  const N = tB ? bs[rb - 2] : bs[rb - 1];
  const batchA = as.slice(0, -2).reduce((p, d) => p * d, 1);
  const batchB = bs.slice(0, -2).reduce((p, d) => p * d, 1);
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const oa = (batchA === 1 ? 0 : t) * M * K;
    const ob = (batchB === 1 ? 0 : t) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[oa + (tA ? k * M + m : m * K + k)] * b[ob + (tB ? n * K + k : k * N + n)];
        out[(t * M + m) * N + n] = acc;
      }
    }
  }
  return out;
}

/** Max |x − y| / max |y|. */
function relDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return Number.isNaN(d) ? Infinity : d / Math.max(s, 1e-30);
}

const plan = (tileM: number, tileN: number, split: boolean, more: { vec4?: boolean; pipelined?: boolean; depth?: number } = {}, target?: number): MatMulSetting =>
  ({ tile: { tileM, tileN, ...more }, split, ...(target === undefined ? {} : { target }) }) as MatMulSetting;
const V4 = { vec4: true };
const PIPE = { vec4: true, pipelined: true };
const PIPE8 = { ...PIPE, depth: 8 };

/** Forced plans for the correctness cases: every tile shape, with and without split-K. */
const FORCED: MatMulSetting[] = [
  plan(128, 128, false), plan(128, 128, true), plan(128, 32, true), plan(32, 128, true), plan(64, 64, false),
  plan(128, 128, false, V4), plan(128, 128, true, V4), plan(64, 128, true, V4),
  plan(128, 128, false, PIPE), plan(128, 128, true, PIPE), plan(64, 128, true, PIPE), plan(128, 64, true, PIPE), plan(64, 64, false, PIPE),
  plan(128, 128, true, PIPE8), plan(128, 256, true, PIPE8), plan(64, 64, false, { ...PIPE, depth: 32 }),
];

/** [outerA, outerB, M, K, N]: ragged edges, one-sided broadcast, 4-D batches, a K shorter than a stage. */
const CASES: [number[], number[], number, number, number][] = [
  [[], [], 64, 8, 64], [[], [], 130, 17, 70], [[], [], 257, 100, 129], [[3], [3], 128, 64, 200],
  [[2, 3], [2, 3], 70, 33, 96], [[4], [1], 96, 40, 80], [[1], [4], 96, 40, 80], [[2, 2], [], 80, 24, 66],
  [[2, 1], [2, 1], 200, 16, 64], [[], [], 96, 1000, 80], [[], [], 40, 2100, 150],
];

/**
 * The products of one 35M MLA step at B·T = 8192, d 512, 16 heads of 32 (+16 RoPE), vocabulary 10k, and their
 * gradients: x·W, dy·Wᵀ and the weight gradients xᵀ·dy; MLA's odd widths (rank 341, 341 + 16); two squares.
 */
const SPEED_SHAPES: [string, number[], number[], boolean, boolean][] = [
  ['x·W C→C', [8192, 512], [512, 512], false, false],
  ['x·W C→4C', [8192, 512], [512, 2048], false, false],
  ['x·W 4C→C', [8192, 2048], [2048, 512], false, false],
  ['x·W C→256 (low rank)', [8192, 512], [512, 256], false, false],
  ['dy·Wᵀ 4C→C', [8192, 2048], [512, 2048], false, true],
  ['dy·Wᵀ C→4C', [8192, 512], [2048, 512], false, true],
  ['dy·Wᵀ 256→C', [8192, 256], [512, 256], false, true],
  ['xᵀ·dy C×C', [8192, 512], [8192, 512], true, false],
  ['xᵀ·dy C×4C', [8192, 512], [8192, 2048], true, false],
  ['xᵀ·dy 4C×C', [8192, 2048], [8192, 512], true, false],
  ['xᵀ·dy C×256', [8192, 512], [8192, 256], true, false],
  ['head x·W', [8192, 512], [512, 10000], false, false],
  ['head dy·Wᵀ', [8192, 10000], [512, 10000], false, true],
  ['head xᵀ·dy', [8192, 512], [8192, 10000], true, false],
  ['MLA latent·W_ukv', [8192, 341], [341, 768], false, false],
  ['MLA x·W_dkv', [8192, 512], [512, 357], false, false],
  ['MLA dkv·W_ukvᵀ', [8192, 768], [341, 768], false, true],
  ['MLA d(dkv)·W_dkvᵀ', [8192, 357], [512, 357], false, true],
  ['MLA latentᵀ·dkv (dW_ukv)', [8192, 341], [8192, 768], true, false],
  ['MLA xᵀ·d(dkv) (dW_dkv)', [8192, 512], [8192, 357], true, false],
  ['square 1024', [1024, 1024], [1024, 1024], false, false],
  ['square 4096', [4096, 4096], [4096, 4096], false, false],
];

const VARIANTS: [string, MatMulSetting][] = [
  ['tfjs', 'off'],
  ['tiled 128x128 vec4', plan(128, 128, false, V4)],
  ['pipelined 128x128', plan(128, 128, false, PIPE)],
  ['pipelined 128x128 split-K', plan(128, 128, true, PIPE)],
  ['pipelined 64x128 split-K', plan(64, 128, true, PIPE)],
  ['pipelined 128x64 split-K', plan(128, 64, true, PIPE)],
  ['pipelined 64x64 split-K', plan(64, 64, true, PIPE)],
  ['pipelined 128x128 split-K 528', plan(128, 128, true, PIPE, 528)],
  ['pipelined 128x128 split-K 132', plan(128, 128, true, PIPE, 132)],
  // Stage depth 8 (half the loads in flight and workgroup memory) and 8 × 16 outputs a thread (128 × 256 tiles at
  // depth 8: 25 KB; at 16 it would pass the 48 KB of workgroup memory).
  ['pipelined 128x128 d8', plan(128, 128, false, PIPE8)],
  ['pipelined 128x128 d8 split-K', plan(128, 128, true, PIPE8)],
  // Split-K aiming under one wave (two workgroups on each of 132 SMs = 264): the policy's ceil(264 / tiles) splits
  // overshoot it for 64 tiles (5 × 64 = 320: a second wave of 56), 240 gives 4 × 64; 528, two full waves.
  ['pipelined 128x128 d8 split-K 240', plan(128, 128, true, PIPE8, 240)],
  ['pipelined 128x128 d8 split-K 528', plan(128, 128, true, PIPE8, 528)],
  ['pipelined 128x256 d8', plan(128, 256, false, PIPE8)],
  ['pipelined 128x256 d8 split-K', plan(128, 256, true, PIPE8)],
  ['auto', 'auto'],
];

/** The speed variants' labels, in order (`mla bench matmul-check --variants` takes a comma-separated subset). */
export const MATMUL_VARIANTS = VARIANTS.map(([label]) => label);

/** Why `variants` are not all speed variants' labels (naming the unknown ones and the known), or null. */
export function unknownMatmulVariants(variants: readonly string[]): string | null {
  const unknown = variants.filter((v) => !MATMUL_VARIANTS.includes(v));
  return unknown.length ? `${unknown.map((v) => `'${v}'`).join(', ')} unknown; the labels are: ${MATMUL_VARIANTS.join(', ')}` : null;
}

export interface MatmulCheckRow {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  plan: MatMulSetting;
  shape: number[];
  sameShape: boolean;
  tiledErr: number;
  tfjsErr: number;
  ok: boolean;
}

export interface MatmulSpeedRow {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  gflop: number;
  /** Host ms per product, readback latency taken out (productMs). */
  ms: Record<string, number>;
  tflops: Record<string, number>;
  /** GPU ms per product from the backend's kernel timer (timestamp queries), its split-K sum included; empty without one. */
  kernelMs: Record<string, number>;
  kernelTflops: Record<string, number>;
}

/**
 * Host ms per product from two runs of n and 3n products, each ended by one readback (its latency in both):
 * (long − short) / 2n; where jitter makes that no larger than zero, long / 3n (an upper bound).
 */
export function productMs(shortMs: number, longMs: number, n: number): number {
  const d = (longMs - shortMs) / (2 * n);
  return d > 0 ? d : longMs / (3 * n);
}

/** GPU ms per call of `f` over n calls by tf.time's kernel timer, or null where the backend times no kernels. */
async function kernelMsPerProduct(f: () => tf.Tensor, n: number): Promise<number | null> {
  const t = await tf.time(() => {
    for (let i = 0; i < n; i++) f().dispose();
  });
  return typeof t.kernelMs === 'number' && t.kernelMs > 0 ? t.kernelMs / n : null;
}

export interface MatmulCheck {
  ok: boolean;
  error: string | null;
  failed: (MatmulCheckRow | { shape: number[]; differ: number; ok: boolean })[];
  checks: number;
  worstTiledErr: number;
  masks: { shape: number[]; rate: number; differ: number; keptFraction: number; ok: boolean }[];
  speed: MatmulSpeedRow[];
  autoOverTfjs: Spread | null;
}

/**
 * The whole check on the active (WebGPU) backend. The backend must have started with the matmul shader
 * registered (MLA_WEBGPU_MATMUL other than tfjs; the CLI does this); it is left at the settings' policy.
 */
export async function runMatmulCheck(reps = 10, opts: { speed?: boolean; variants?: string[]; onSpeedRow?: (r: MatmulSpeedRow) => void } = {}): Promise<MatmulCheck> {
  const why = unknownMatmulVariants(opts.variants ?? []);
  if (why) throw new RangeError(`matmul-check variants ${why}`);
  const variants = opts.variants ? VARIANTS.filter(([label]) => opts.variants!.includes(label)) : VARIANTS;
  const policy = describeBackend().backendSettings.webgpu;
  const set = (s: MatMulSetting) => setTiledMatMul(s, policy);
  const scope = gpuErrorScope();
  const checks: MatmulCheckRow[] = [];
  const masks: MatmulCheck['masks'] = [];
  const speed: MatmulSpeedRow[] = [];
  try {
    for (const [oa, ob, M, K, N] of CASES) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const as = [...oa, tA ? K : M, tA ? M : K];
          const bs = [...ob, tB ? N : K, tB ? K : N];
          const av = values(as.reduce((p, d) => p * d, 1), 1 + M);
          const bv = values(bs.reduce((p, d) => p * d, 1), 2 + N);
          const ref = loopMatMul(av, as, bv, bs, tA, tB);
          const x = tf.tensor(av, as);
          const y = tf.tensor(bv, bs);
          set('off');
          const theirs = tf.matMul(x, y, tA, tB);
          const tfjsErr = relDiff(await theirs.data(), ref);
          for (const forced of FORCED) {
            set(forced);
            const tiled = tf.matMul(x, y, tA, tB);
            const sameShape = JSON.stringify(tiled.shape) === JSON.stringify(theirs.shape);
            const tiledErr = relDiff(await tiled.data(), ref);
            checks.push({ a: as, b: bs, transposeA: tA, transposeB: tB, plan: forced, shape: tiled.shape, sameShape, tiledErr, tfjsErr, ok: sameShape && tiledErr < 1e-5 });
            tiled.dispose();
          }
          tf.dispose([x, y, theirs]);
        }
      }
    }
    for (const [shape, rate, seed, stream] of [[[8, 1024, 512], 0.1, 123456, 3], [[1000, 7], 0.5, 2 ** 40 + 5, 0]] as [number[], number, number, number][]) {
      const m = dropoutMask(shape, rate, seed, stream);
      const gpu = await m.data();
      m.dispose();
      const host = maskValues(maskAttrs(shape, rate, seed, stream));
      let differ = 0;
      let kept = 0;
      for (let i = 0; i < host.length; i++) {
        if (gpu[i] !== host[i]) differ++;
        if (gpu[i] !== 0) kept++;
      }
      masks.push({ shape, rate, differ, keptFraction: kept / host.length, ok: differ === 0 });
    }
    if (opts.speed !== false) {
      // The GPU's clocks ramp up under load: without a warm-up the first shapes measured every variant slow.
      tf.tidy(() => {
        const w = tf.randomUniform([4096, 4096]);
        for (let i = 0; i < 30; i++) tf.matMul(w, w).dispose();
      });
      for (const [name, as, bs, tA, tB] of SPEED_SHAPES) {
        const x = tf.randomUniform(as, -1, 1);
        const y = tf.randomUniform(bs, -1, 1);
        const M = tA ? as[as.length - 1] : as[as.length - 2];
        const K = tA ? as[as.length - 2] : as[as.length - 1];
        const N = tB ? bs[bs.length - 2] : bs[bs.length - 1];
        const flop = 2 * M * N * K;
        const row: MatmulSpeedRow = { name, a: as, b: bs, transposeA: tA, transposeB: tB, gflop: flop / 1e9, ms: {}, tflops: {}, kernelMs: {}, kernelTflops: {} };
        for (let round = 0; round < 2; round++) {
          for (const [label, setting] of variants) {
            set(setting);
            // n products then one element read back, in ms: the readback's round trip (~1 ms through Dawn) rides on
            // every run, so a product's time is the difference of two runs over the difference of their counts.
            const run = async (n: number) => {
              const t0 = performance.now();
              let last: tf.Tensor | null = null;
              for (let i = 0; i < n; i++) {
                last?.dispose();
                last = tf.matMul(x, y, tA, tB);
              }
              const corner = tf.slice(last!, new Array(as.length).fill(0), new Array(as.length).fill(1));
              await corner.data(); // the queue is in order: the last product is done, so all are
              tf.dispose([corner, last!]);
              return performance.now() - t0;
            };
            await run(2);
            const short = await run(reps);
            const long = await run(3 * reps);
            const kernel = await kernelMsPerProduct(() => tf.matMul(x, y, tA, tB), reps);
            if (round === 1) {
              row.ms[label] = productMs(short, long, reps);
              row.tflops[label] = flop / (row.ms[label] / 1000) / 1e12;
              if (kernel !== null) {
                row.kernelMs[label] = kernel;
                row.kernelTflops[label] = flop / (kernel / 1000) / 1e12;
              }
            }
          }
        }
        speed.push(row);
        opts.onSpeedRow?.(row);
        tf.dispose([x, y]);
      }
    }
  } finally {
    set('auto');
  }
  const error = await scope.end();
  const ok = checks.every((c) => c.ok) && masks.every((m) => m.ok) && !error;
  return {
    ok,
    error,
    failed: [...checks, ...masks].filter((c) => !c.ok),
    checks: checks.length,
    worstTiledErr: Math.max(...checks.map((c) => c.tiledErr)),
    masks,
    speed,
    autoOverTfjs: speed.length && speed[0].ms.tfjs !== undefined && speed[0].ms.auto !== undefined ? spread(speed.map((r) => (r.kernelMs.tfjs ?? r.ms.tfjs) / (r.kernelMs.auto ?? r.ms.auto))) : null,
  };
}
