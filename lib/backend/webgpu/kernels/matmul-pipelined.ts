// The pipelined variant of the tiled matmul shader (matmul.ts): same tiles, same output, same split-K,
// but each K stage's loads from global memory are issued before the previous stage's FMAs and land in
// registers, so their latency hides behind 16 × 64 FMAs per thread instead of stalling every thread at the
// barrier; the workgroup tiles are double-buffered, so one barrier per stage suffices (the single-buffered
// shader needs two). Where an input's inner dim is a multiple of 4 it is bound as vec4s ("wide" loads: one
// 16-byte load instead of four, and, along M or N, one 16-byte store into the staged tile).
// Tested against tf.matMul on the CPU by test/backend/webgpu/matmul.test.ts, on the GPU by
// scripts/device/matmul-check.js.
// Shape legend: A (batchA, M, K) or (batchA, K, M) when transposed; B (batchB, K, N) or (batchB, N, K).

import { DEPTH, THREADS, tileOrigins } from './matmul-tile';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Which inputs are bound as vec4 arrays: an input whose inner dim is a multiple of 4. */
export interface WideLoads {
  a: boolean;
  b: boolean;
}

/** Whether A and B can be read as vec4s for this product (inner dims, and so every offset, multiples of 4). */
export function wideLoads(M: number, N: number, K: number, transposeA: boolean, transposeB: boolean): WideLoads {
  return { a: (transposeA ? M : K) % 4 === 0, b: (transposeB ? K : N) % 4 === 0 };
}

/**
 * How one input's tile is loaded: per thread, `count` loads of `wide` ? vec4 : f32, each element e = tid + l·256
 * mapped to (k, mn) of the staged tile (mn = the row of A or column of B), and the global index of it.
 */
interface Side {
  /** 'A' or 'B': the binding. */
  buf: string;
  /** Rows of M (A) or columns of N (B) per tile. */
  extent: number;
  /** Whether the staged tile's inner direction (M or N) is also the input's inner dim. */
  alongMN: boolean;
  wide: boolean;
  /** Uniform names: the dim along the tile (dimM / dimN) and the input's batch base. */
  dim: string;
  base: string;
  /** First row (A) / column (B) of the tile. */
  origin: string;
  /** Row stride of the staged tile in vec4s. */
  pad: number;
  tile: string;
  prefix: string;
}

/** Loads per thread and stage of one side: the tile's extent × depth elements over the threads, `per` at a time. */
function loadsPerThread(s: Side, threads: number, depth: number): number {
  const count = (s.extent * depth) / (threads * (s.wide ? 4 : 1));
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`tile side ${s.extent} at depth ${depth}${s.wide ? ' (vec4 loads)' : ''}: not a whole number of loads per thread`);
  return count;
}

/** Statements loading one stage (from K offset `k0`) of a side into its registers, zeros outside the matrix. */
function loadStage(s: Side, threads: number, depth: number): string[] {
  const per = s.wide ? 4 : 1;
  const count = loadsPerThread(s, threads, depth);
  const L: string[] = [];
  for (const l of range(count)) {
    const e = `${s.prefix}e${l}`;
    L.push(`    let ${e} = tid + ${l * threads};`);
    // Consecutive threads take consecutive addresses of the input: along its inner dim.
    let mn: string;
    let k: string;
    if (s.alongMN) {
      const across = s.extent / per; // loads per k row of the tile
      mn = `(${e} % ${across}) * ${per}`;
      k = `${e} / ${across}`;
    } else {
      const across = depth / per;
      k = `(${e} % ${across}) * ${per}`;
      mn = `${e} / ${across}`;
    }
    L.push(`    let ${s.prefix}mn${l} = ${mn};`);
    L.push(`    let ${s.prefix}k${l} = ${k};`);
    // Clamped to a valid address and masked by select, so the loads are unconditional (no branch to wait on);
    // the last stage's loads (past kEnd) come back as zeros.
    L.push(`    let ${s.prefix}g${l} = min(${s.origin} + ${s.prefix}mn${l}, uniforms.${s.dim} - 1);`);
    L.push(`    let ${s.prefix}gk${l} = min(k0 + ${s.prefix}k${l}, uniforms.dimK - 1);`);
    L.push(`    let ${s.prefix}ok${l} = ${s.origin} + ${s.prefix}mn${l} < uniforms.${s.dim} && k0 + ${s.prefix}k${l} < kEnd;`);
    const flat = s.alongMN ? `${s.prefix}gk${l} * uniforms.${s.dim} + ${s.prefix}g${l}` : `${s.prefix}g${l} * uniforms.dimK + ${s.prefix}gk${l}`;
    const index = s.wide ? `${s.base}4 + ((${flat}) >> 2)` : `${s.base} + ${flat}`;
    const zero = s.wide ? 'vec4<f32>(0.0)' : '0.0';
    L.push(`    ${s.prefix}r${l} = select(${zero}, ${s.buf}[${index}], ${s.prefix}ok${l});`);
  }
  return L;
}

/** Statements storing a side's registers into the staged tile at vec4 offset `into`. */
function storeStage(s: Side, threads: number, depth: number, into: string): string[] {
  const count = loadsPerThread(s, threads, depth);
  const L: string[] = [];
  for (const l of range(count)) {
    const at = (k: string) => `${into} + (${k}) * ${s.pad} + ${s.prefix}mn${l} / 4`;
    if (s.wide && s.alongMN) {
      L.push(`    ${s.tile}[${at(`${s.prefix}k${l}`)}] = ${s.prefix}r${l}; // 4 adjacent rows (columns): one vec4`);
    } else if (s.wide) {
      for (const c of range(4)) L.push(`    ${s.tile}[${at(`${s.prefix}k${l} + ${c}`)}][${s.prefix}mn${l} % 4] = ${s.prefix}r${l}[${c}];`);
    } else {
      L.push(`    ${s.tile}[${at(`${s.prefix}k${l}`)}][${s.prefix}mn${l} % 4] = ${s.prefix}r${l};`);
    }
  }
  return L;
}

/** K per stage the pipelined shader takes (TileShape.depth). */
export const PIPELINED_DEPTHS = [8, 16, 32];

/**
 * The pipelined shader's WGSL body for one transpose case, vec4 tile (tileM 64 or 128, tileN 64, 128 or 256:
 * each thread (tileM/16) × (tileN/16) outputs), choice of wide loads and K per stage (`depth`, 8, 16 or 32).
 * The accumulators and the output layout are the vec4 tiled shader's. Workgroup memory is 2 · depth ·
 * (tileM + tileN + 8) · 4 bytes: 128 × 128 at depth 16 is 33 KB, 128 × 256 at depth 8 25 KB (a device's limit is
 * typically 48 KB).
 */
export function pipelinedMatMulWgsl(transposeA: boolean, transposeB: boolean, tileM: number, tileN: number, wide: WideLoads, depth = DEPTH): string {
  if (tileM % 64 !== 0 || tileM > 128) throw new RangeError(`tile side ${tileM} (M): expected 64 or 128`);
  if (tileN % 64 !== 0 || tileN > 256) throw new RangeError(`tile side ${tileN} (N): expected 64, 128 or 256`);
  if (!PIPELINED_DEPTHS.includes(depth)) throw new RangeError(`stage depth ${depth}: expected one of ${PIPELINED_DEPTHS.join(', ')}`);
  const threads = THREADS * THREADS;
  const padM = tileM / 4 + 1;
  const padN = tileN / 4 + 1;
  const perM = tileM / THREADS;
  const groupsN = tileN / THREADS / 4;
  const a: Side = { buf: 'A', extent: tileM, alongMN: transposeA, wide: wide.a, dim: 'dimM', base: 'baseA', origin: 'row0', pad: padM, tile: 'tileA', prefix: 'a' };
  const b: Side = { buf: 'B', extent: tileN, alongMN: !transposeB, wide: wide.b, dim: 'dimN', base: 'baseB', origin: 'col0', pad: padN, tile: 'tileB', prefix: 'b' };
  const L: string[] = [];
  // Two buffers of `depth` k-rows each: stage s computes from buffer s % 2 while its successor is stored in the other.
  L.push(`var<workgroup> tileA : array<vec4<f32>, ${2 * depth * padM}>;`);
  L.push(`var<workgroup> tileB : array<vec4<f32>, ${2 * depth * padN}>;`);
  L.push(...tileOrigins(tileM, tileN));
  L.push('  let baseA4 = baseA >> 2; // in vec4s (a multiple of 4 floats wherever A is wide)');
  L.push('  let baseB4 = baseB >> 2;');
  for (const s of [a, b]) {
    for (const l of range(loadsPerThread(s, threads, depth))) L.push(`  var ${s.prefix}r${l} = ${s.wide ? 'vec4<f32>(0.0)' : '0.0'};`);
  }
  for (let i = 0; i < perM; i++) for (let j = 0; j < groupsN; j++) L.push(`  var c${i}_${j} = vec4<f32>(0.0);`);
  // Prologue: stage 0 into buffer 0.
  L.push('  {');
  L.push('    let k0 = kStart;');
  L.push(...loadStage(a, threads, depth), ...loadStage(b, threads, depth));
  L.push(...storeStage(a, threads, depth, '0'), ...storeStage(b, threads, depth, '0'));
  L.push('  }');
  L.push('  workgroupBarrier();');
  // A uniform trip count (see matmul.ts); stage s + 1's loads go out before stage s's FMAs.
  L.push('  for (var stage = 0; stage < uniforms.stages; stage = stage + 1) {');
  L.push(`    let curA = (stage % 2) * ${depth * padM};`);
  L.push(`    let curB = (stage % 2) * ${depth * padN};`);
  L.push(`    let nextA = ${depth * padM} - curA;`);
  L.push(`    let nextB = ${depth * padN} - curB;`);
  L.push(`    let k0 = kStart + (stage + 1) * ${depth};`);
  L.push(...loadStage(a, threads, depth), ...loadStage(b, threads, depth));
  // The `depth` k-steps unrolled: per step, perM/4 + groupsN vec4 reads feed perM · groupsN vec4 FMAs.
  for (let k = 0; k < depth; k++) {
    for (let i = 0; i < perM / 4; i++) L.push(`    let a${k}_${i} = tileA[curA + ${k * padM + i * THREADS} + ty];`);
    for (let j = 0; j < groupsN; j++) L.push(`    let b${k}_${j} = tileB[curB + ${k * padN + j * THREADS} + tx];`);
    for (let i = 0; i < perM; i++) for (let j = 0; j < groupsN; j++) L.push(`    c${i}_${j} = fma(vec4<f32>(a${k}_${i >> 2}[${i & 3}]), b${k}_${j}, c${i}_${j});`);
  }
  L.push(...storeStage(a, threads, depth, 'nextA'), ...storeStage(b, threads, depth, 'nextB'));
  L.push('    workgroupBarrier(); // the next buffer is complete, and every read of this one is done');
  L.push('  }');
  // Output (batch·splits, M, N), as the vec4 tiled shader: c{i}_{j} is row 64·(i / 4) + 4·ty + i % 4, columns 64·j + 4·tx ..
  L.push('  let baseC = z * uniforms.dimM * uniforms.dimN;');
  for (let i = 0; i < perM; i++) {
    L.push('  {');
    L.push(`    let r = row0 + ${(i >> 2) * 64} + ty * 4 + ${i & 3};`);
    L.push('    if (r < uniforms.dimM) {');
    for (let j = 0; j < groupsN; j++) {
      for (let c = 0; c < 4; c++) {
        L.push(`      { let c = col0 + ${j * 64 + c} + tx * 4; if (c < uniforms.dimN) { result[baseC + r * uniforms.dimN + c] = c${i}_${j}[${c}]; } }`);
      }
    }
    L.push('    }');
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}
