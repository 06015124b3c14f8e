// @ts-check
// The fused causal-attention kernels (lib/backend/flash-attention-wgsl.ts) on a real GPU: for each shape, the
// output and dQ, dK, dV of the fused op against the unfused core on the same backend (same inputs, a random
// upstream gradient), as the largest difference relative to the reference's largest magnitude; then the time
// of a forward + backward of each, median over --reps after a warm-up, ended by reading one number.
//
//   node scripts/device/flash-check.js [--reps 10] [--out FILE]
//
// Shapes: the 35M training shape (B·H = 8·16, T 1024, head dim 32 — MLA with RoPE concatenates its 16-dim
// no-RoPE and RoPE parts), ragged lengths and other head dims (tile sizes change with D + Dv).
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, emit, errorLine, runMain, spread } = require('./common');

const SHAPES = [
  { BH: 128, T: 1024, D: 32, Dv: 32 },
  { BH: 6, T: 130, D: 20, Dv: 12 },
  { BH: 4, T: 1000, D: 64, Dv: 64 },
  { BH: 32, T: 1, D: 16, Dv: 16 },
];
/** fp32 on both sides, different summation orders: a wrong kernel is off by order 1. */
const REL_TOL = 1e-4;

/** @param {any} lib @param {{BH: number, T: number, D: number, Dv: number}} s @param {number} reps */
async function check(lib, s, reps) {
  const { BH, T, D, Dv } = s;
  const scale = 1 / Math.sqrt(D);
  const q = tf.randomNormal([BH, T, D], 0, 1.5, 'float32', 1);
  const k = tf.randomNormal([BH, T, D], 0, 1.5, 'float32', 2);
  const v = tf.randomNormal([BH, T, Dv], 0, 1, 'float32', 3);
  const dy = tf.randomNormal([BH, T, Dv], 0, 1, 'float32', 4);
  /** @type {Record<string, (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor>} */
  const impls = {
    fused: (a, b, c) => lib.flashAttention(a, b, c, scale),
    unfused: (a, b, c) =>
      tf.squeeze(lib.unfusedCausalAttention([{ q: tf.expandDims(a, 0), k: tf.expandDims(b, 0) }], tf.expandDims(c, 0), { qStart: 0, scale }), [0]),
  };
  /** @param {(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor} f */
  const run = (f) => {
    const y = f(q, k, v);
    const grads = tf.grads((a, b, c) => tf.sum(tf.mul(f(a, b, c), dy)))([q, k, v]);
    return [y, ...grads];
  };
  const got = run(impls.fused);
  const want = run(impls.unfused);
  /** @type {Record<string, number>} */
  const relErr = {};
  const names = ['O', 'dQ', 'dK', 'dV'];
  for (let i = 0; i < 4; i++) {
    const diff = await tf.max(tf.abs(tf.sub(got[i], want[i]))).data();
    const mag = await tf.max(tf.abs(want[i])).data();
    // Relative to the largest magnitude, or to 1 where the exact gradient is ~0 (one key: dQ = dK = 0).
    relErr[names[i]] = diff[0] / Math.max(mag[0], 1);
  }
  tf.dispose([...got, ...want]);
  /** @type {Record<string, unknown>} */
  const ms = {};
  for (const [name, f] of Object.entries(impls)) {
    const times = [];
    for (let r = 0; r < reps + 2; r++) {
      const t0 = performance.now();
      const out = run(f);
      const sum = tf.addN(out.map((t) => tf.sum(t)));
      await sum.data();
      if (r >= 2) times.push(performance.now() - t0);
      tf.dispose([...out, sum]);
    }
    ms[name] = spread(times);
  }
  tf.dispose([q, k, v, dy]);
  const ok = Object.values(relErr).every((e) => e <= REL_TOL);
  return { ...s, relErr, ok, forwardBackwardMs: ms };
}

runMain(async () => {
  const v = flags(process.argv.slice(2), { reps: { type: 'string', default: '10' }, out: { type: 'string' } }, 'usage: node scripts/device/flash-check.js [--reps 10] [--out FILE]');
  const lib = loadLib();
  const { device } = await lib.initBackend('webgpu');
  const results = [];
  for (const s of SHAPES) {
    try {
      results.push(await check(lib, s, int('reps', v.reps)));
    } catch (err) {
      results.push({ ...s, ok: false, error: errorLine(err) });
    }
    process.stderr.write(`${JSON.stringify(results[results.length - 1])}\n`);
  }
  emit({ bench: 'flash-check', backend: 'webgpu', device, relTol: REL_TOL, ok: results.every((r) => r.ok), results }, v.out);
  return results.every((r) => r.ok) ? 0 : 1;
});
