// A register-tiled fp32 matmul shader for tfjs-backend-webgpu's BatchMatMul, with split-K.
// Each workgroup of 16×16 threads computes a tileM × tileN block of C (each thread (tileM/16) × (tileN/16)
// outputs in registers), staging 16-deep slices of A and B through workgroup memory. Every transpose case and
// tile shape is its own shader (index arithmetic specialised, not branched); batch dims may broadcast one side
// (batch 1 against batch n); edges are bounds-checked, so any shape is correct.
// Split-K: when C has too few tiles to occupy the GPU (weight gradients xᵀ·dy are 512 × 512 outputs summed
// over K = 8192 rows), each workgroup also takes one of `splits` slices of K and writes a partial product;
// a second shader sums the partials. tfjs's own shaders never split K for these shapes.
// matmul-kernel.ts decides which products come here; the shader's logic is tested on the CPU by
// test/backend/webgpu/matmul.test.ts and on the GPU by scripts/device/matmul-check.js.
import * as tf from '@tensorflow/tfjs-core';
import { pipelinedMatMulWgsl, wideLoads } from './matmul-pipelined';
import { DEPTH, THREADS, tileOrigins } from './matmul-tile';
import { type ProgramRunner, type Uniforms, runFlat, uniformData, uniformDeclarations } from '../program';


export interface MatMulShape {
  batchA: number;
  batchB: number;
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Rows and columns of C per workgroup: multiples of 16 up to 128 (of 64 with vec4). */
export interface TileShape {
  tileM: number;
  tileN: number;
  /**
   * Stage the tiles as vec4s and give each thread 4 adjacent rows and columns per 64: one 16-byte read from
   * workgroup memory then feeds 4 FMAs of a row or column instead of 1 (the strided layout reads scalars).
   */
  vec4?: boolean;
  /**
   * The pipelined shader (matmul-pipelined.ts; needs vec4 and sides of 64 or 128): the next stage's
   * loads in flight during this stage's FMAs, double-buffered tiles, vec4 loads where an inner dim allows.
   */
  pipelined?: boolean;
  /**
   * K per stage through workgroup memory (the pipelined shader only: 8, 16 or 32; default DEPTH, 16). A shallower
   * stage halves the loads in flight per thread and the workgroup memory, a deeper one halves the barriers.
   */
  depth?: number;
}

/** K per stage of a tile's shader. */
export function tileDepth(tile: TileShape): number {
  return tile.depth ?? DEPTH;
}

export interface MatMulPlan {
  tile: TileShape;
  /** Slices of K, each summed by its own workgroups into a partial product (1: no split). */
  splits: number;
  /** K per slice, a multiple of the stage depth. */
  kPerSplit: number;
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
 * Workgroups that keep an H100's or H200's 132 SMs busy (two resident per SM): split-K aims for this many. Only
 * products with fewer tiles than half of it are split: a split of a nearly full wave doubles the waves and
 * adds the partial sums (x·W C → C, 256 tiles: 17.2 TFLOP/s whole, 12.0 split in two; session-4/run3-heads).
 */
export const TARGET_WORKGROUPS = 264;
/** A slice of K shorter than this costs more in partial sums than it gains in parallelism. */
const MIN_K_PER_SPLIT = 256;

/** The tile count of a product, and the split of K that brings it near TARGET_WORKGROUPS. */
export function planSplits(s: MatMulShape, tile: TileShape, allowSplit = true, target = TARGET_WORKGROUPS): MatMulPlan {
  const tiles = s.batch * Math.ceil(s.M / tile.tileM) * Math.ceil(s.N / tile.tileN);
  let splits = 1;
  if (allowSplit && tiles < target / 2) {
    splits = Math.max(1, Math.min(Math.ceil(target / tiles), Math.floor(s.K / MIN_K_PER_SPLIT)));
  }
  const depth = tileDepth(tile);
  const kPerSplit = Math.ceil(s.K / splits / depth) * depth;
  return { tile, splits: Math.ceil(s.K / kPerSplit), kPerSplit };
}

/** The WGSL body for one transpose case and tile shape; tfjs adds the bindings A, B, result and the uniforms. */
export function matMulWgsl(transposeA: boolean, transposeB: boolean, tile: TileShape = { tileM: 128, tileN: 128 }): string {
  const { tileM, tileN } = tile;
  if (tileDepth(tile) !== DEPTH) throw new RangeError(`stage depth ${tileDepth(tile)}: the staged shader takes ${DEPTH} only (other depths: the pipelined one)`);
  const step = tile.vec4 ? 4 * THREADS : THREADS;
  for (const t of [tileM, tileN]) if (t % step !== 0 || t < step || t > 128) throw new RangeError(`tile side ${t}: expected a multiple of ${step} up to 128`);
  const perM = tileM / THREADS;
  const perN = tileN / THREADS;
  // Row stride of the staged tiles: one spare element (vec4) spreads the stores along K over banks.
  const padM = tile.vec4 ? tileM / 4 + 1 : tileM + 1;
  const padN = tile.vec4 ? tileN / 4 + 1 : tileN + 1;
  // A is (batchA, M, K), or (batchA, K, M) when transposed; B is (batchB, K, N), or (batchB, N, K).
  const aIndex = transposeA ? 'gk * uniforms.dimM + gm' : 'gm * uniforms.dimK + gk';
  const bIndex = transposeB ? 'gn * uniforms.dimK + gk' : 'gk * uniforms.dimN + gn';
  // Consecutive threads load consecutive addresses: along K when K is A's (B's) inner dim, else along M (N).
  const aLoad = transposeA ? `let m = e % ${tileM}; let k = e / ${tileM};` : `let k = e % ${DEPTH}; let m = e / ${DEPTH};`;
  const bLoad = transposeB ? `let k = e % ${DEPTH}; let n = e / ${DEPTH};` : `let n = e % ${tileN}; let k = e / ${tileN};`;
  // Where a staged element goes: scalar tiles k-major; vec4 tiles k-major with 4 adjacent rows (columns) per vec4.
  const aStore = tile.vec4 ? `tileA[k * ${padM} + m / 4][m % 4] = v;` : `tileA[k * ${padM} + m] = v;`;
  const bStore = tile.vec4 ? `tileB[k * ${padN} + n / 4][n % 4] = v;` : `tileB[k * ${padN} + n] = v;`;
  const threads = THREADS * THREADS;
  const elem = tile.vec4 ? 'vec4<f32>' : 'f32';
  const L: string[] = [];
  L.push(`var<workgroup> tileA : array<${elem}, ${DEPTH * padM}>;`);
  L.push(`var<workgroup> tileB : array<${elem}, ${DEPTH * padN}>;`);
  L.push(...tileOrigins(tileM, tileN));
  // Strided: c{i}_{j} is row ty + 16·i, column tx + 16·j. vec4: c{i}_{j} holds row 64·(i / 4) + 4·ty + i % 4,
  // columns 64·j + 4·tx .. + 3.
  const groupsN = tile.vec4 ? perN / 4 : perN;
  for (let i = 0; i < perM; i++) for (let j = 0; j < groupsN; j++) L.push(`  var c${i}_${j} = ${tile.vec4 ? 'vec4<f32>(0.0)' : '0.0'};`);
  // The loop count must be uniform for its barriers to be legal: WGSL's analysis treats anything derived from
  // the builtins (copied into private variables by tfjs) as non-uniform, so the count is a uniform and the last
  // slice's surplus stages load zeros.
  L.push(`  for (var stage = 0; stage < uniforms.stages; stage = stage + 1) {`);
  L.push(`    let k0 = kStart + stage * ${DEPTH};`);
  for (let l = 0; l < (tileM * DEPTH) / threads; l++) {
    L.push('    {');
    L.push(`      let e = tid + ${l * threads};`);
    L.push(`      ${aLoad}`);
    L.push('      let gm = row0 + m; let gk = k0 + k;');
    L.push('      var v = 0.0;');
    L.push(`      if (gm < uniforms.dimM && gk < kEnd) { v = A[baseA + ${aIndex}]; }`);
    L.push(`      ${aStore}`);
    L.push('    }');
  }
  for (let l = 0; l < (tileN * DEPTH) / threads; l++) {
    L.push('    {');
    L.push(`      let e = tid + ${l * threads};`);
    L.push(`      ${bLoad}`);
    L.push('      let gn = col0 + n; let gk = k0 + k;');
    L.push('      var v = 0.0;');
    L.push(`      if (gn < uniforms.dimN && gk < kEnd) { v = B[baseB + ${bIndex}]; }`);
    L.push(`      ${bStore}`);
    L.push('    }');
  }
  L.push('    workgroupBarrier();');
  L.push(`    for (var k = 0; k < ${DEPTH}; k = k + 1) {`);
  L.push(`      let ra = k * ${padM} + ty;`);
  L.push(`      let rb = k * ${padN} + tx;`);
  if (tile.vec4) {
    // A warp (16 tx × 2 ty) reads 2 vec4s of A (broadcast) and 16 adjacent vec4s of B.
    for (let i = 0; i < perM / 4; i++) L.push(`      let a${i} = tileA[ra + ${i * THREADS}];`);
    for (let j = 0; j < groupsN; j++) L.push(`      let b${j} = tileB[rb + ${j * THREADS}];`);
    for (let i = 0; i < perM; i++) for (let j = 0; j < groupsN; j++) L.push(`      c${i}_${j} = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${j}, c${i}_${j});`);
  } else {
    // Thread (tx, ty) owns rows ty + 16·i and columns tx + 16·j: reads of tileB are contiguous across a warp.
    for (let i = 0; i < perM; i++) L.push(`      let a${i} = tileA[ra + ${i * THREADS}];`);
    for (let j = 0; j < perN; j++) L.push(`      let b${j} = tileB[rb + ${j * THREADS}];`);
    for (let i = 0; i < perM; i++) for (let j = 0; j < perN; j++) L.push(`      c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`);
  }
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('  }');
  // Output (batch·splits, M, N): slice s of batch b at z = b·splits + s.
  L.push('  let baseC = z * uniforms.dimM * uniforms.dimN;');
  for (let i = 0; i < perM; i++) {
    const row = tile.vec4 ? `${(i >> 2) * 64} + ty * 4 + ${i & 3}` : `ty + ${i * THREADS}`;
    L.push('  {');
    L.push(`    let r = row0 + ${row};`);
    L.push('    if (r < uniforms.dimM) {');
    for (let j = 0; j < groupsN; j++) {
      if (tile.vec4) {
        for (let c = 0; c < 4; c++) {
          L.push(`      { let c = col0 + ${j * 64 + c} + tx * 4; if (c < uniforms.dimN) { result[baseC + r * uniforms.dimN + c] = c${i}_${j}[${c}]; } }`);
        }
      } else {
        L.push(`      { let c = col0 + tx + ${j * THREADS}; if (c < uniforms.dimN) { result[baseC + r * uniforms.dimN + c] = c${i}_${j}; } }`);
      }
    }
    L.push('    }');
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

/** Sums the split-K partials (batch, splits, M·N) → (batch, M·N). */
export const SPLIT_SUM_WGSL = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let b = index / uniforms.mn;
      let base = (b * uniforms.splits) * uniforms.mn + (index - b * uniforms.mn);
      var acc = 0.0;
      for (var s = 0; s < uniforms.splits; s = s + 1) {
        acc = acc + P[base + s * uniforms.mn];
      }
      setOutputAtIndex(index, acc);
    }
  }
`;

/** Uniforms of the matmul shader, in its declaration order. */
function matMulUniforms(s: MatMulShape, plan: MatMulPlan): Uniforms {
  return [
    ['dimM', 'i32', s.M],
    ['dimN', 'i32', s.N],
    ['dimK', 'i32', s.K],
    ['batchA', 'i32', s.batchA],
    ['batchB', 'i32', s.batchB],
    ['splits', 'i32', plan.splits],
    ['kPerSplit', 'i32', plan.kPerSplit],
    ['stages', 'i32', plan.kPerSplit / tileDepth(plan.tile)],
  ];
}

/** Runs the shader (and the partial sum when K is split) → (batch, M, N). */
export function tiledMatMul(backend: unknown, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, s: MatMulShape, plan: MatMulPlan): tf.TensorInfo {
  const a3: tf.TensorInfo = { dataId: a.dataId, dtype: a.dtype, shape: [s.batchA, transposeA ? s.K : s.M, transposeA ? s.M : s.K] }; // (batchA, M, K) or transposed; a view, no copy
  const b3: tf.TensorInfo = { dataId: b.dataId, dtype: b.dtype, shape: [s.batchB, transposeB ? s.N : s.K, transposeB ? s.K : s.N] }; // (batchB, K, N) or transposed
  const { tileM, tileN } = plan.tile;
  const uniforms = matMulUniforms(s, plan);
  const wide = plan.tile.pipelined ? wideLoads(s.M, s.N, s.K, transposeA, transposeB) : { a: false, b: false };
  const depth = tileDepth(plan.tile);
  const variant = (plan.tile.pipelined ? `p${wide.a ? 4 : 1}${wide.b ? 4 : 1}` : plan.tile.vec4 ? 'v4' : '') + (depth === DEPTH ? '' : `d${depth}`);
  const program = {
    variableNames: ['A', 'B'],
    variableComponents: [wide.a ? 4 : 1, wide.b ? 4 : 1], // vec4 bindings for the pipelined shader's wide loads
    outputShape: [s.batch * plan.splits, s.M, s.N], // (batch·splits, M, N)
    shaderKey: `mlaTiledMatMul_${transposeA ? 1 : 0}${transposeB ? 1 : 0}_${tileM}x${tileN}${variant}`,
    uniforms: uniformDeclarations(uniforms),
    workgroupSize: [THREADS, THREADS, 1] as [number, number, number],
    // Not a flat layout, so tfjs calls main() without an index; the dispatch below is what counts.
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: [Math.ceil(s.N / tileN), Math.ceil(s.M / tileM), s.batch * plan.splits] as [number, number, number],
    getUserCode: () => (plan.tile.pipelined ? pipelinedMatMulWgsl(transposeA, transposeB, tileM, tileN, wide, depth) : matMulWgsl(transposeA, transposeB, plan.tile)),
  };
  const runner = backend as ProgramRunner & { disposeData(id: object): void };
  const out = runner.runWebGPUProgram(program, [a3, b3], 'float32', uniformData(uniforms));
  if (plan.splits === 1) return out;
  const sum = runFlat(backend, 'mlaSplitKSum', SPLIT_SUM_WGSL, [s.batch, s.M, s.N], [out], ['P'], [['splits', 'i32', plan.splits], ['mn', 'i32', s.M * s.N]]);
  runner.disposeData(out.dataId);
  return sum;
}
