// A register-tiled fp32 matmul shader for tfjs-backend-webgpu's BatchMatMul.
// tfjs's own programs (32×32 tiles, 4×4 outputs per thread) reached 1.2 TFLOP/s at 1024² and 4 at 2048² on the
// H100, and BatchMatMul was 550 of the 710 ms of GPU time in a 35M training step. This one gives each
// workgroup of 16×16 threads a 128×128 tile of C and each thread 8×8 outputs in registers, staging 16-deep
// slices of A and B through workgroup memory. Every transpose case has its own shader (the index arithmetic is
// specialised, not branched), batch dims may broadcast one side (batch 1 against batch n), and edges are
// bounds-checked, so any shape is correct; shapes too small to fill its tiles go to tfjs's kernel instead.
// Checked against tfjs's kernel on the GPU by scripts/device/matmul-check.js (and through every training and
// decoding case by scripts/device/coverage.js).
import * as tf from '@tensorflow/tfjs-core';

const TILE = 128; // rows and columns of C per workgroup
const DEPTH = 16; // K per stage through workgroup memory
const THREADS = 16; // per side: 16 × 16 threads, each 8 × 8 outputs
const PER = TILE / THREADS;
const PAD = TILE + 1; // row stride of the staged tiles: the +1 spreads stores along K over banks

export interface MatMulShape {
  batchA: number;
  batchB: number;
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Leading dims flattened; null when they broadcast in a way this kernel does not (e.g. (2, 1) with (1, 3)). */
export function matMulShape(a: number[], b: number[], transposeA: boolean, transposeB: boolean): MatMulShape | null {
  if (a.length < 2 || b.length < 2) return null;
  const M = transposeA ? a[a.length - 1] : a[a.length - 2];
  const K = transposeA ? a[a.length - 2] : a[a.length - 1];
  const Kb = transposeB ? b[b.length - 1] : b[b.length - 2];
  const N = transposeB ? b[b.length - 2] : b[b.length - 1];
  if (K !== Kb) return null;
  const outerA = a.slice(0, -2);
  const outerB = b.slice(0, -2);
  const batchA = outerA.reduce((p, d) => p * d, 1);
  const batchB = outerB.reduce((p, d) => p * d, 1);
  if (batchA !== 1 && batchB !== 1) {
    // Both batched: the leading dims must be the same (left-padded with 1s), element by element.
    const n = Math.max(outerA.length, outerB.length);
    const pad = (s: number[]) => [...new Array(n - s.length).fill(1), ...s];
    const pa = pad(outerA);
    const pb = pad(outerB);
    if (!pa.every((d, i) => d === pb[i])) return null;
  }
  return { batchA, batchB, batch: Math.max(batchA, batchB), M, N, K };
}

/**
 * Where the tiled shader beats tfjs's on the H100 (scripts/device/matmul-check.js, both in one process): the
 * products with B transposed (dy·Wᵀ 1.6×, the head's dy·Wᵀ 1.5×, attention scores q·kᵀ 1.5×). tfjs's vec4
 * programs win on plain x·W and on Aᵀ·B (weight gradients), and on anything with fewer than 64 rows or
 * columns (decode's single row, attention's 32-wide values), so those stay with tfjs.
 */
export function worthTiling(s: MatMulShape, transposeA = false, transposeB = true): boolean {
  return !transposeA && transposeB && s.M >= 64 && s.N >= 64 && s.K >= 8;
}

/** The WGSL body for one transpose case; tfjs adds the bindings A, B, result and the uniforms. */
export function matMulWgsl(transposeA: boolean, transposeB: boolean): string {
  // A is (batchA, M, K), or (batchA, K, M) when transposed; B is (batchB, K, N), or (batchB, N, K).
  const aIndex = transposeA ? 'gk * uniforms.dimM + gm' : 'gm * uniforms.dimK + gk';
  const bIndex = transposeB ? 'gn * uniforms.dimK + gk' : 'gk * uniforms.dimN + gn';
  // Consecutive threads load consecutive addresses: along K when K is A's (B's) inner dim, else along M (N).
  const aLoad = transposeA ? `let m = e % ${TILE}; let k = e / ${TILE};` : `let k = e % ${DEPTH}; let m = e / ${DEPTH};`;
  const bLoad = transposeB ? `let k = e % ${DEPTH}; let n = e / ${DEPTH};` : `let n = e % ${TILE}; let k = e / ${TILE};`;
  const loads = (TILE * DEPTH) / (THREADS * THREADS);
  const lines: string[] = [];
  lines.push(`var<workgroup> tileA : array<f32, ${DEPTH * PAD}>;`);
  lines.push(`var<workgroup> tileB : array<f32, ${DEPTH * PAD}>;`);
  lines.push('fn main() {');
  lines.push('  let tx = i32(localId.x);');
  lines.push('  let ty = i32(localId.y);');
  lines.push(`  let tid = ty * ${THREADS} + tx;`);
  lines.push('  let batch = i32(globalId.z);');
  lines.push(`  let row0 = i32(workgroupId.y) * ${TILE};`);
  lines.push(`  let col0 = i32(workgroupId.x) * ${TILE};`);
  lines.push('  let baseA = select(batch, 0, uniforms.batchA == 1) * uniforms.dimM * uniforms.dimK;');
  lines.push('  let baseB = select(batch, 0, uniforms.batchB == 1) * uniforms.dimK * uniforms.dimN;');
  for (let i = 0; i < PER; i++) for (let j = 0; j < PER; j++) lines.push(`  var c${i}_${j} = 0.0;`);
  lines.push(`  for (var k0 = 0; k0 < uniforms.dimK; k0 = k0 + ${DEPTH}) {`);
  for (let l = 0; l < loads; l++) {
    lines.push('    {');
    lines.push(`      let e = tid + ${l * THREADS * THREADS};`);
    lines.push(`      ${aLoad}`);
    lines.push(`      let gm = row0 + m; let gk = k0 + k;`);
    lines.push(`      var v = 0.0;`);
    lines.push(`      if (gm < uniforms.dimM && gk < uniforms.dimK) { v = A[baseA + ${aIndex}]; }`);
    lines.push(`      tileA[k * ${PAD} + m] = v;`);
    lines.push('    }');
    lines.push('    {');
    lines.push(`      let e = tid + ${l * THREADS * THREADS};`);
    lines.push(`      ${bLoad}`);
    lines.push(`      let gn = col0 + n; let gk = k0 + k;`);
    lines.push(`      var v = 0.0;`);
    lines.push(`      if (gn < uniforms.dimN && gk < uniforms.dimK) { v = B[baseB + ${bIndex}]; }`);
    lines.push(`      tileB[k * ${PAD} + n] = v;`);
    lines.push('    }');
  }
  lines.push('    workgroupBarrier();');
  lines.push(`    for (var k = 0; k < ${DEPTH}; k = k + 1) {`);
  lines.push(`      let ra = k * ${PAD} + ty;`);
  lines.push(`      let rb = k * ${PAD} + tx;`);
  // Thread (tx, ty) owns rows ty + 16·i and columns tx + 16·j: reads of tileB are contiguous across a warp.
  for (let i = 0; i < PER; i++) lines.push(`      let a${i} = tileA[ra + ${i * THREADS}];`);
  for (let j = 0; j < PER; j++) lines.push(`      let b${j} = tileB[rb + ${j * THREADS}];`);
  for (let i = 0; i < PER; i++) for (let j = 0; j < PER; j++) lines.push(`      c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`);
  lines.push('    }');
  lines.push('    workgroupBarrier();');
  lines.push('  }');
  lines.push('  let baseC = batch * uniforms.dimM * uniforms.dimN;');
  for (let i = 0; i < PER; i++) {
    lines.push(`  {`);
    lines.push(`    let r = row0 + ty + ${i * THREADS};`);
    lines.push(`    if (r < uniforms.dimM) {`);
    for (let j = 0; j < PER; j++) {
      lines.push(`      { let c = col0 + tx + ${j * THREADS}; if (c < uniforms.dimN) { result[baseC + r * uniforms.dimN + c] = c${i}_${j}; } }`);
    }
    lines.push('    }');
    lines.push('  }');
  }
  lines.push('}');
  return lines.join('\n');
}

interface WebgpuBackendLike {
  runWebGPUProgram(p: object, inputs: tf.TensorInfo[], dtype: string, uniforms: object[]): tf.TensorInfo;
}

/** Runs the tiled shader; the caller has checked matMulShape and worthTiling. */
export function tiledMatMul(backend: WebgpuBackendLike, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, s: MatMulShape): tf.TensorInfo {
  const a3: tf.TensorInfo = { dataId: a.dataId, dtype: a.dtype, shape: [s.batchA, transposeA ? s.K : s.M, transposeA ? s.M : s.K] }; // (batchA, M, K) or transposed; a view, no copy
  const b3: tf.TensorInfo = { dataId: b.dataId, dtype: b.dtype, shape: [s.batchB, transposeB ? s.N : s.K, transposeB ? s.K : s.N] }; // (batchB, K, N) or transposed
  const program = {
    variableNames: ['A', 'B'],
    outputShape: [s.batch, s.M, s.N],
    shaderKey: `mlaTiledMatMul_${transposeA ? 1 : 0}${transposeB ? 1 : 0}`,
    uniforms: 'dimM : i32, dimN : i32, dimK : i32, batchA : i32, batchB : i32,',
    workgroupSize: [THREADS, THREADS, 1] as [number, number, number],
    // Not a flat layout, so tfjs calls main() without an index; the dispatch below is what counts.
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [Math.ceil(s.N / TILE), Math.ceil(s.M / TILE), s.batch] as [number, number, number],
    getUserCode: () => matMulWgsl(transposeA, transposeB),
  };
  // One entry per scalar: tfjs aligns a multi-value entry as a vector, the struct declares scalars.
  const uniforms = [s.M, s.N, s.K, s.batchA, s.batchB].map((v) => ({ type: 'int32', data: [v] }));
  return backend.runWebGPUProgram(program, [a3, b3], 'float32', uniforms);
}

let registered = false;
let enabled = true;
let everyShape = false;

/**
 * Turns the tiled shader off and on after registration; `everyShape` sends it every float32 product it can
 * take, not only those where it wins (scripts/device/matmul-check.js compares both kernels that way).
 */
export function setTiledMatMul(on: boolean, onEveryShape = false): void {
  enabled = on;
  everyShape = onEveryShape;
}

/**
 * Puts the tiled shader in front of tfjs-backend-webgpu's BatchMatMul (tfjs's kernel still takes small and
 * int32 products). MLA_WEBGPU_MATMUL=tfjs leaves tfjs's kernel alone, for comparisons.
 */
export function registerTiledMatMul(): void {
  if (registered || process.env.MLA_WEBGPU_MATMUL === 'tfjs') return;
  const original = tf.getKernel('BatchMatMul', 'webgpu');
  if (!original) return;
  const fallback = original.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'webgpu');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const s = a.dtype === 'float32' && b.dtype === 'float32' ? matMulShape(a.shape, b.shape, transposeA, transposeB) : null;
      if (!enabled || !s || !(everyShape || worthTiling(s, transposeA, transposeB))) return fallback(args);
      const out = tiledMatMul(args.backend as unknown as WebgpuBackendLike, a, b, transposeA, transposeB, s);
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return { ...out, shape: [...outer, s.M, s.N] }; // (…batch, M, N): the same buffer, viewed with the batch dims
    },
  });
  registered = true;
}
