// @ts-check
// The tiled WebGPU matmul (lib/backend/webgpu-matmul.ts) against a plain loop and against tfjs's own shaders:
// correctness for every transpose case, broadcast batch dims and ragged edges, then GFLOP/s of both kernels
// at the shapes of a 35M training step (same process, same GPU, alternating).
//
//   node scripts/device/matmul-check.js [--reps 10] [--out FILE]
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, loadModule, emit, runMain, spread } = require('./common');
const { gpuErrorScope } = require('./coverage');

const HELP = 'usage: node scripts/device/matmul-check.js [--reps 10] [--out FILE]';

/** Deterministic values in [-1, 1). @param {number} n @param {number} seed */
function values(n, seed) {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** C = op(A)·op(B) by loops, batch broadcast as tfjs does for one side of batch 1. */
function loopMatMul(/** @type {Float32Array} */ a, /** @type {number[]} */ as, /** @type {Float32Array} */ b, /** @type {number[]} */ bs, /** @type {boolean} */ tA, /** @type {boolean} */ tB) {
  const ra = as.length, rb = bs.length;
  const M = tA ? as[ra - 1] : as[ra - 2], K = tA ? as[ra - 2] : as[ra - 1], N = tB ? bs[rb - 2] : bs[rb - 1];
  const batchA = as.slice(0, -2).reduce((p, d) => p * d, 1), batchB = bs.slice(0, -2).reduce((p, d) => p * d, 1);
  const batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let t = 0; t < batch; t++) {
    const oa = (batchA === 1 ? 0 : t) * M * K, ob = (batchB === 1 ? 0 : t) * K * N;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += a[oa + (tA ? k * M + m : m * K + k)] * b[ob + (tB ? n * K + k : k * N + n)];
      out[(t * M + m) * N + n] = acc;
    }
  }
  return out;
}

/** Max |x − y| / max |y|. @param {ArrayLike<number>} x @param {ArrayLike<number>} y */
function relDiff(x, y) {
  let d = 0, s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / Math.max(s, 1e-30);
}

// Forced plans for the correctness cases: every tile shape, with and without split-K.
const FORCED = [
  { tile: { tileM: 128, tileN: 128 }, split: false },
  { tile: { tileM: 128, tileN: 128 }, split: true },
  { tile: { tileM: 128, tileN: 32 }, split: true },
  { tile: { tileM: 32, tileN: 128 }, split: true },
  { tile: { tileM: 64, tileN: 64 }, split: false },
  { tile: { tileM: 128, tileN: 128, vec4: true }, split: false },
  { tile: { tileM: 128, tileN: 128, vec4: true }, split: true },
  { tile: { tileM: 64, tileN: 128, vec4: true }, split: true },
  { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: false },
  { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: true },
  { tile: { tileM: 64, tileN: 128, vec4: true, pipelined: true }, split: true },
  { tile: { tileM: 128, tileN: 64, vec4: true, pipelined: true }, split: true },
  { tile: { tileM: 64, tileN: 64, vec4: true, pipelined: true }, split: false },
];

/** @param {number[]} outer @param {number} M @param {number} K @param {boolean} t */
const shapeOf = (outer, M, K, t) => [...outer, t ? K : M, t ? M : K];

runMain(async () => {
  process.env.MLA_WEBGPU_MATMUL ??= 'tiled-wide'; // register the shader; each measurement below then picks its setting ('auto': the policy)
  const v = flags(process.argv.slice(2), { reps: { type: 'string', default: '10' }, out: { type: 'string' } }, HELP);
  const reps = int('reps', v.reps);
  const lib = loadLib();
  const init = await lib.initBackend('webgpu');
  // The matmul switch and the dropout mask are internals, not the root API; 'auto' is the policy of the settings the backend started with.
  const matmul = loadModule('backend/webgpu-matmul-kernel');
  const mask = loadModule('backend/dropout-mask');
  const policy = lib.describeBackend().backendSettings.webgpu;
  /** @param {any} setting */
  const setTiledMatMul = (setting) => matmul.setTiledMatMul(setting, policy);
  const scope = gpuErrorScope();
  /** @type {any[]} */
  const checks = [];
  // [outerA, outerB, M, K, N]: ragged edges, one-sided broadcast, 4-D batches, a K shorter than a stage.
  const cases = [
    [[], [], 64, 8, 64], [[], [], 130, 17, 70], [[], [], 257, 100, 129], [[3], [3], 128, 64, 200],
    [[2, 3], [2, 3], 70, 33, 96], [[4], [1], 96, 40, 80], [[1], [4], 96, 40, 80], [[2, 2], [], 80, 24, 66],
    [[2, 1], [2, 1], 200, 16, 64], [[], [], 96, 1000, 80], [[], [], 40, 2100, 150],
  ];
  for (const [oa, ob, M, K, N] of /** @type {[number[], number[], number, number, number][]} */ (cases)) {
    for (const tA of [false, true]) for (const tB of [false, true]) {
      const as = shapeOf(oa, M, K, tA);
      const bShape = [...ob, tB ? N : K, tB ? K : N];
      const av = values(as.reduce((p, d) => p * d, 1), 1 + M), bv = values(bShape.reduce((p, d) => p * d, 1), 2 + N);
      const ref = loopMatMul(av, as, bv, bShape, tA, tB);
      const x = tf.tensor(av, as), y = tf.tensor(bv, bShape);
      setTiledMatMul('off');
      const theirs = tf.matMul(x, y, tA, tB);
      const base = await theirs.data();
      const tfjsErr = relDiff(base, ref);
      for (const forced of FORCED) {
        setTiledMatMul(forced);
        const tiled = tf.matMul(x, y, tA, tB);
        const got = await tiled.data();
        const sameShape = JSON.stringify(tiled.shape) === JSON.stringify(theirs.shape);
        const tiledErr = relDiff(got, ref);
        checks.push({ a: as, b: bShape, transposeA: tA, transposeB: tB, plan: forced, shape: tiled.shape, sameShape, tiledErr, tfjsErr, ok: sameShape && tiledErr < 1e-5 });
        tiled.dispose();
      }
      tf.dispose([x, y, theirs]);
    }
  }
  // The dropout-mask shader against the host's computation of the same hash: equal bit for bit.
  /** @type {any[]} */
  const masks = [];
  for (const [shape, rate, seed, stream] of /** @type {[number[], number, number, number][]} */ ([[[8, 1024, 512], 0.1, 123456, 3], [[1000, 7], 0.5, 2 ** 40 + 5, 0]])) {
    const m = mask.dropoutMask(shape, rate, seed, stream);
    const gpu = await m.data();
    const host = mask.maskValues(mask.maskAttrs(shape, rate, seed, stream));
    let differ = 0;
    for (let i = 0; i < host.length; i++) if (gpu[i] !== host[i]) differ++;
    let kept = 0;
    for (const x of gpu) if (x !== 0) kept++;
    masks.push({ shape, rate, differ, keptFraction: kept / host.length, ok: differ === 0 });
    m.dispose();
  }
  // The products of one 35M MLA step at B·T = 8192, d 512, 16 heads of 32 (+16 RoPE), vocabulary 10k, and
  // their gradients: N·N (x·W), N·T (dy·Wᵀ), T·N (weight gradients xᵀ·dy). (Attention's own products are gone
  // from training steps: the fused attention shaders replaced them.)
  const shapes = [
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
    // MLA's odd widths: the kv latent (rank 341) and the down-projection with the RoPE key (341 + 16).
    ['MLA latent·W_ukv', [8192, 341], [341, 768], false, false],
    ['MLA x·W_dkv', [8192, 512], [512, 357], false, false],
    ['MLA dkv·W_ukvᵀ', [8192, 768], [341, 768], false, true],
    ['MLA d(dkv)·W_dkvᵀ', [8192, 357], [512, 357], false, true],
    ['MLA latentᵀ·dkv (dW_ukv)', [8192, 341], [8192, 768], true, false],
    ['MLA xᵀ·d(dkv) (dW_dkv)', [8192, 512], [8192, 357], true, false],
    ['square 1024', [1024, 1024], [1024, 1024], false, false],
    ['square 4096', [4096, 4096], [4096, 4096], false, false],
  ];
  /** @type {[string, any][]} */
  const variants = [
    ['tfjs', 'off'],
    ['tiled 128x128 vec4', { tile: { tileM: 128, tileN: 128, vec4: true }, split: false }],
    ['pipelined 128x128', { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: false }],
    ['pipelined 128x128 split-K', { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: true }],
    ['pipelined 64x128 split-K', { tile: { tileM: 64, tileN: 128, vec4: true, pipelined: true }, split: true }],
    ['pipelined 128x64 split-K', { tile: { tileM: 128, tileN: 64, vec4: true, pipelined: true }, split: true }],
    ['pipelined 64x64 split-K', { tile: { tileM: 64, tileN: 64, vec4: true, pipelined: true }, split: true }],
    ['pipelined 128x128 split-K 528', { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: true, target: 528 }],
    ['pipelined 128x128 split-K 132', { tile: { tileM: 128, tileN: 128, vec4: true, pipelined: true }, split: true, target: 132 }],
    ['auto', 'auto'],
  ];
  // The GPU's clocks ramp up under load: without a warm-up the first shapes measured every variant at a fraction of its speed.
  tf.tidy(() => {
    const w = tf.randomUniform([4096, 4096]);
    for (let i = 0; i < 30; i++) tf.matMul(w, w).dispose();
  });
  /** @type {any[]} */
  const speed = [];
  for (const [name, as, bs, tA, tB] of /** @type {[string, number[], number[], boolean, boolean][]} */ (shapes)) {
    const x = tf.randomUniform(as, -1, 1), y = tf.randomUniform(bs, -1, 1);
    const M = tA ? as[as.length - 1] : as[as.length - 2], K = tA ? as[as.length - 2] : as[as.length - 1];
    const N = tB ? bs[bs.length - 2] : bs[bs.length - 1];
    const batch = as.length > 2 ? as[0] : 1;
    const flop = 2 * batch * M * N * K;
    /** @type {Record<string, any>} */
    const row = { name, a: as, b: bs, transposeA: tA, transposeB: tB, gflop: flop / 1e9, ms: {}, tflops: {} };
    for (let round = 0; round < 2; round++) {
      for (const [label, setting] of variants) {
        setTiledMatMul(setting);
        const run = async (/** @type {number} */ n) => {
          const t0 = performance.now();
          let last = null;
          for (let i = 0; i < n; i++) {
            if (last) last.dispose();
            last = tf.matMul(x, y, tA, tB);
          }
          const corner = tf.slice(/** @type {tf.Tensor} */ (last), new Array(as.length).fill(0), new Array(as.length).fill(1));
          await corner.data(); // the queue is in order: the last product is done, so all are
          tf.dispose([corner, last]);
          return (performance.now() - t0) / n;
        };
        await run(2);
        const ms = await run(reps);
        if (round === 1) {
          row.ms[label] = ms;
          row.tflops[label] = flop / (ms / 1000) / 1e12;
        }
      }
    }
    speed.push(row);
    process.stderr.write(`${name}: ${variants.map(([l]) => `${l} ${row.tflops[l].toFixed(1)}`).join(', ')} TFLOP/s\n`);
    tf.dispose([x, y]);
  }
  setTiledMatMul('auto');
  const error = await scope.end();
  const ok = checks.every((c) => c.ok) && masks.every((m) => m.ok) && !error;
  emit({ bench: 'webgpu-matmul', device: init.device, ok, error, failed: [...checks, ...masks].filter((c) => !c.ok), checks: checks.length, masks, worstTiledErr: Math.max(...checks.map((c) => c.tiledErr)), speed, autoOverTfjs: spread(speed.map((r) => r.ms.tfjs / r.ms.auto)) }, v.out);
  return ok ? 0 : 1;
});
