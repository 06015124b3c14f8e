// The decode-attention shader (the op of lib/ops/decode-attention.ts): a block of query rows that read the same
// cached keys and values — all heads of absorbed MLA against its latent cache, or the G query heads of one KV
// head — in one pass over the cache with an online softmax (FlashAttention's, in base 2), one workgroup per
// (row block, head, batch). What one latent row costs to load then feeds every row of the block (FlashMLA's idea).
//
// Layout: Q{i} (B, Hq, M, d_i), K{i} (B, Hq or 1, S, d_i), V (B, Hq or 1, S, dv), row-major f32; the result
// (B, Hq, M, dv) flat. Row r of a head is the query at position qStart + r mod Tq and sees keys 0 ..= that position.
// A workgroup of 64 threads streams the keys 64 at a time: thread j scores key k0 + j against every row of the
// block (the block's queries, pre-scaled by scale·log2 e, wait in workgroup memory), RB threads then turn their
// row's 64 scores into probabilities and the rescale of the running sums, and every thread adds the probability-
// weighted value rows into the value columns it owns (r, r + 64, …), for all RB rows: RB·⌈dv/64⌉ sums in
// registers. Loops that hold barriers run a count from the uniforms alone (WGSL's uniformity rule); tiles past
// the block's last position are skipped inside them.
//
// Scalar code only (no vectors: the latent's width, 341 for the 35M MLA, is no multiple of 4), and no integer
// division but through fa_div/fa_mod, so test/attention/decode-attention.test.ts can translate the shader to
// JavaScript (test/helpers/wgsl-js.ts) and run it thread by thread between barriers.
// Shape legend: B batch, Hq heads of the query rows, M rows per head, Tq new positions, S cached keys, d/dv dims,
// RB rows per workgroup, BC keys per tile.
import { DECODE_ATTENTION_MAX_ROWS } from '../../../ops/decode-attention';
import { DECODE_UNROLL_CHOICES, DEFAULT_DECODE_SPLIT_TILES } from '../../../settings';
import { FOLDED_WORKGROUP, foldedDispatch } from '../program';
import { TILED_ROWS, TILED_THREADS, decodeTiledWgsl, tiledApplies } from './decode-attention-tiled-wgsl';
import { KEYS_THREADS, decodeKeysWgsl, keysApplies, keysRowsPerBlock } from './decode-attention-keys-wgsl';
import { DECODE_HELPERS, decodeBlockLines, decodeRowLines } from './decode-attention-prologue';

/** Threads per workgroup, and keys per tile (one key per thread when scoring). */
export const DECODE_THREADS = 64;
const BC = DECODE_THREADS;
/** WebGPU's default workgroup memory (16 KiB), which tfjs-backend-webgpu does not raise, in floats. */
const WORKGROUP_FLOATS = 4096;
/** Running sums per thread (rows × owned value columns) kept in registers. */
const SUMS_PER_THREAD = 48;
const LOG2E = Math.LOG2E;
/**
 * Split-K (flash decoding): when the (row block, head, batch) workgroups are few — absorbed MLA at batch 1 is 2 of
 * them, MHA 16, on the H200's 132 SMs — the keys are cut into splits that run side by side, each writing its
 * unnormalized sums with its running max and sum, and a second shader combines them. Workgroups aimed at, and the
 * fewest key tiles a split takes (512 keys: below that the combine's extra dispatch costs more than it saves).
 */
export const DECODE_SPLIT_TARGET = 1024;
/** The default fewest tiles per split (settings.ts DEFAULT_DECODE_SPLIT_TILES, MLA_WEBGPU_DECODE_SPLIT_TILES). */
export const DECODE_SPLIT_MIN_TILES = DEFAULT_DECODE_SPLIT_TILES;

export interface DecodeTermPlan {
  /** Query/key dim of the term. */
  d: number;
  /** Keys per head (B, Hq, S, d), else shared (B, 1, S, d). */
  perHead: boolean;
}

export interface DecodePlan {
  terms: DecodeTermPlan[];
  dv: number;
  valuesPerHead: boolean;
  B: number;
  heads: number;
  rows: number;
  keys: number;
  /** Query rows per workgroup. */
  rowsPerBlock: number;
  /**
   * Keys (and key dims) per step of the shader's two inner loops, their loads issued before their FMAs
   * (MLA_WEBGPU_DECODE_UNROLL; 1: one at a time, the shader as first written).
   */
  unroll: number;
  /**
   * Which shader: 'rows' this file's (rowsPerBlock rows, 64 threads scoring a 64-key tile together, each reading its
   * own key row); 'tiled' decode-attention-tiled-wgsl.ts's (16 rows a workgroup of 128 threads, the keys staged
   * through workgroup memory, register-tiled scores); 'keys' decode-attention-keys-wgsl.ts's (one or two rows, each
   * thread its own keys and online softmax, merged at the end); 'piped' the tiled one with its key chunks pipelined
   * (double-buffered, the next chunk's loads in flight during the current one's FMAs); 'piped4' piped with a 4 × 4
   * score tile a thread, each of a thread pair taking half of every chunk's dims (opt-in until measured).
   */
  shader: DecodeShader;
}

export type DecodeShader = 'rows' | 'tiled' | 'piped' | 'piped4' | 'keys';

/** The shaders of decode-attention-tiled-wgsl.ts (16 rows a workgroup of TILED_THREADS). */
const isTiled = (s: DecodeShader | DecodeShaderChoice): s is 'tiled' | 'piped' | 'piped4' => s === 'tiled' || s === 'piped' || s === 'piped4';

/**
 * Which decode-attention shader a call gets (MLA_WEBGPU_DECODE_SHADER): 'auto' the key-parallel one where a head has
 * one or two rows of at most 64 value columns between them, 'piped' for 16 or more rows a head from
 * AUTO_PIPED_MIN_KEYS cache rows over the batch, else the row-block one; 'rows' always the row-block one; 'tiled',
 * 'piped', 'piped4' or 'keys' that one wherever its widths fit (and, for the tiled ones, the device's workgroup
 * memory), however many the rows (the tests' way to run each on every case), else 'rows'. The tiled shader is
 * opt-in: on the H100 (data/bench/device/decode-shaders-2026-12-07-h100/) it beat the row shader's attention only from
 * ~16k tokens of context (0.83x at batch 16 x 32k) and lost below 4k (1.27x at batch 16 x 4k).
 */
export type DecodeShaderChoice = 'auto' | DecodeShader;

/** Threads per workgroup of the plan's shader. */
export const decodeThreads = (p: Pick<DecodePlan, 'shader'>) => (isTiled(p.shader) ? TILED_THREADS : p.shader === 'keys' ? KEYS_THREADS : DECODE_THREADS);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const width = (p: Pick<DecodePlan, 'terms'>) => p.terms.reduce((s, t) => s + t.d, 0);
/** Value columns per thread: r, r + 64, …. */
const columns = (dv: number) => Math.ceil(dv / DECODE_THREADS);

/** Rows per workgroup: up to 16, no more than the rows there are, within the registers and workgroup memory. */
export function rowsPerBlock(rows: number, w: number, dv: number): number {
  let rb = 16;
  while (rb > 1 && rb / 2 >= rows) rb /= 2;
  while (rb > 1 && (rb * columns(dv) > SUMS_PER_THREAD || rb * (w + BC + 3) > WORKGROUP_FLOATS)) rb /= 2;
  return rb;
}

/** Unroll factors the shader is built with: MLA_WEBGPU_DECODE_UNROLL's values. */
export const DECODE_UNROLLS: readonly number[] = DECODE_UNROLL_CHOICES.map(Number);

/**
 * The plan for query, key and value shapes (queries already folded by the op); `storage` is the device's workgroup
 * memory in bytes (unbounded where no GPU runs the shader: the tests' CPU).
 */
/**
 * Cache rows over the batch (B × the cache's capacity) from which `auto` gives 16 or more query rows a head (absorbed
 * MLA's folded heads) the pipelined tiled shader instead of the row shader. H100, 35m-mla-rope absorbed, ms a step,
 * piped / auto in one call (data/bench/device/matmul-depth-piped-2026-12-07f-h100/): batch 16 at 16k 0.80 and 32k
 * 0.71, at 4k 1.12 and 1k 1.31; batch 64 at 4k 0.84 and 16k 0.75, at 1k 1.09. It wins from 262k rows and loses at
 * 65k; the threshold sits between (131k unmeasured). The capacity, not the context, so a cache keeps its shader.
 */
export const AUTO_PIPED_MIN_KEYS = 131072;

export function decodePlan(qShapes: number[][], kShapes: number[][], vShape: number[], unroll = 1, choice: DecodeShaderChoice = 'auto', storage = Number.POSITIVE_INFINITY): DecodePlan {
  if (!DECODE_UNROLLS.includes(unroll)) throw new RangeError(`decode attention: unroll ${unroll} is not one of ${DECODE_UNROLLS.join(', ')}`);
  const [B, heads, rows] = qShapes[0];
  const terms = qShapes.map((q, i) => ({ d: q[3], perHead: kShapes[i][1] === heads && heads > 1 }));
  const dv = vShape[3];
  const w = width({ terms });
  const base = { terms, dv, valuesPerHead: vShape[1] === heads && heads > 1, B, heads, rows, keys: vShape[2] };
  if (isTiled(choice) && tiledApplies(Math.max(rows, 9), terms.map((t) => t.d), dv, storage, choice === 'piped', choice === 'piped4')) {
    return { ...base, rowsPerBlock: TILED_ROWS, unroll: choice === 'tiled' ? 1 : unroll, shader: choice }; // piped, piped4: the value loop's unroll
  }
  if (choice === 'keys' && keysRowsPerBlock(Math.min(rows, 2), dv) > 0) return { ...base, rowsPerBlock: keysRowsPerBlock(Math.min(rows, 2), dv), unroll: 1, shader: 'keys' };
  if (choice === 'auto' && keysApplies(rows, dv)) return { ...base, rowsPerBlock: keysRowsPerBlock(rows, dv), unroll: 1, shader: 'keys' };
  if (choice === 'auto' && rows >= TILED_ROWS && B * base.keys >= AUTO_PIPED_MIN_KEYS && tiledApplies(rows, terms.map((t) => t.d), dv, storage, true)) {
    return { ...base, rowsPerBlock: TILED_ROWS, unroll, shader: 'piped' };
  }
  const rb = rowsPerBlock(rows, w, dv);
  if (rb * (w + BC + 3) > WORKGROUP_FLOATS || columns(dv) > SUMS_PER_THREAD || Math.ceil(rows / rb) > DECODE_ATTENTION_MAX_ROWS) {
    throw new RangeError(`decode attention: widths ${w}/${dv} with ${rows} rows per head do not fit the shader; lib/ops/decode-attention.ts's limits should have kept this call off it`);
  }
  return { terms, dv, valuesPerHead: vShape[1] === heads && heads > 1, B, heads, rows, keys: vShape[2], rowsPerBlock: rb, unroll, shader: 'rows' };
}

/** Names the pipeline: everything the WGSL is built from. */
export function decodeKey(p: DecodePlan): string {
  const terms = p.terms.map((t) => `${t.d}${t.perHead ? 'h' : 's'}`).join('_');
  return `${{ rows: 'mlaDecodeAttn', tiled: 'mlaDecodeTiled', piped: 'mlaDecodePiped', piped4: 'mlaDecodePiped4', keys: 'mlaDecodeKeys' }[p.shader]}_${terms}_${p.dv}${p.valuesPerHead ? 'h' : 's'}_${p.rowsPerBlock}${p.unroll > 1 ? `_u${p.unroll}` : ''}`;
}

/** Key tiles the workgroups loop over: up to the last query's position, never the cache's unwritten rows. */
export function decodeTiles(keys: number, qStart: number, queries: number): number {
  return Math.ceil(Math.min(keys, qStart + queries) / BC);
}

export function decodeUniforms(p: DecodePlan, a: { scale: number; qStart: number; queries: number }): [string, 'i32' | 'f32', number][] {
  return [
    ['heads', 'i32', p.heads],
    ['rows', 'i32', p.rows],
    ['keys', 'i32', p.keys],
    ['queries', 'i32', a.queries],
    ['qStart', 'i32', a.qStart],
    ['tiles', 'i32', decodeTiles(p.keys, a.qStart, a.queries)],
    ['qScale', 'f32', a.scale * LOG2E],
  ];
}

/** Workgroups: (row blocks, Hq, B). */
export function decodeDispatch(p: DecodePlan): [number, number, number] {
  return [Math.ceil(p.rows / p.rowsPerBlock), p.heads, p.B];
}

const rowBlocks = (p: DecodePlan) => Math.ceil(p.rows / p.rowsPerBlock);

/**
 * Splits the cache's capacity allows (fixed for a cache, so the partial sums keep one size from step to step), each
 * at least `minTiles` tiles.
 */
export function decodeMaxSplits(p: DecodePlan, minTiles = DECODE_SPLIT_MIN_TILES): number {
  const workgroups = rowBlocks(p) * p.heads * p.B;
  const byWork = Math.ceil(DECODE_SPLIT_TARGET / workgroups);
  const byTiles = Math.floor(Math.ceil(p.keys / BC) / minTiles);
  const byAxis = Math.floor(65535 / rowBlocks(p));
  return Math.max(1, Math.min(byWork, byTiles, byAxis));
}

/** Splits for a call reading `tiles` key tiles: as many as the work allows, each at least `minTiles`. */
export function decodeSplits(p: DecodePlan, tiles: number, minTiles = DECODE_SPLIT_MIN_TILES): number {
  return Math.max(1, Math.min(decodeMaxSplits(p, minTiles), Math.floor(tiles / minTiles)));
}

/** Floats per row and split in the partial sums: dv unnormalized sums, the running max (base 2), the running sum. */
export const partialWidth = (dv: number) => dv + 2;

/** The split pass's extra uniforms, after decodeUniforms's. */
export function splitUniforms(p: DecodePlan, tiles: number, splits: number, minTiles = DECODE_SPLIT_MIN_TILES): [string, 'i32', number][] {
  return [
    ['rowBlocks', 'i32', rowBlocks(p)],
    ['chunk', 'i32', Math.ceil(tiles / splits)],
    ['maxSplits', 'i32', decodeMaxSplits(p, minTiles)],
  ];
}

/** The split pass's workgroups: (row blocks · splits, Hq, B); x = split · rowBlocks + row block. */
export function splitDispatch(p: DecodePlan, splits: number): [number, number, number] {
  return [rowBlocks(p) * splits, p.heads, p.B];
}

/**
 * The combine: thread (row, column) of the result reads the row's `splits` partials P (B·Hq·rows, maxSplits, dv + 2)
 * and writes Σ_s 2^(m_s − M) o_s / Σ_s 2^(m_s − M) l_s, M = max_s m_s (a split with no key has m = −1e30, l = 0).
 */
export function decodeCombineWgsl(dv: number): string {
  const W = partialWidth(dv);
  return [
    'fn fa_div(a : i32, b : i32) -> i32 { return a / b; }',
    'fn main() {',
    `  let idx = ${FOLDED_WORKGROUP} * ${DECODE_THREADS} + i32(localId.x);`,
    '  if (idx < uniforms.total) {',
    `    let rowIdx = fa_div(idx, ${dv});`,
    `    let col = idx - rowIdx * ${dv};`,
    `    let base = rowIdx * uniforms.maxSplits * ${W};`,
    '    var mx = -1e30;',
    `    for (var s = 0; s < uniforms.splits; s = s + 1) { mx = max(mx, P[base + s * ${W} + ${dv}]); }`,
    '    var num = 0.0;',
    '    var den = 0.0;',
    '    for (var s = 0; s < uniforms.splits; s = s + 1) {',
    `      let pAt = base + s * ${W};`,
    `      let w = exp2(P[pAt + ${dv}] - mx);`,
    '      num = fma(w, P[pAt + col], num);',
    `      den = fma(w, P[pAt + ${dv + 1}], den);`,
    '    }',
    '    result[idx] = num / den;',
    '  }',
    '}',
  ].join('\n');
}

export function combineDispatch(total: number): [number, number, number] {
  return foldedDispatch(Math.ceil(total / DECODE_THREADS));
}

/**
 * The scores of the tile's key k0 + r against every row of the block, each thread reading its own key row from
 * global memory (U dims at a time, their loads first), into sTile (masked past each row's last key).
 */
function tileScores(p: DecodePlan, offsets: number[]): string[] {
  const RB = p.rowsPerBlock;
  const W = width(p);
  const rows = range(RB);
  const U = p.unroll;
  const L: string[] = [];
  L.push('    if (need) {');
  L.push('      let key = k0 + r;');
  L.push('      let kc = min(key, uniforms.keys - 1);');
  for (const g of rows) L.push(`      var s${g} = 0.0;`);
  p.terms.forEach((t, i) => {
    // The key's dims U at a time, their loads first (the loop bound is a constant: the tail is a plain loop).
    const full = t.d - (t.d % U);
    const score = (c: string, kv: string) => rows.map((g) => `s${g} = fma(qTile[${g * W + offsets[i]} + ${c}], ${kv}, s${g});`);
    if (U > 1 && full > 0) {
      L.push(`      for (var c = 0; c < ${full}; c = c + ${U}) {`);
      for (const u of range(U)) L.push(`        let kv${u} = K${i}[k${i}Base + kc * ${t.d} + c + ${u}];`);
      for (const u of range(U)) for (const line of score(`c + ${u}`, `kv${u}`)) L.push(`        ${line}`);
      L.push('      }');
    }
    if (U === 1 || full < t.d) {
      L.push(`      for (var c = ${U > 1 ? full : 0}; c < ${t.d}; c = c + 1) {`);
      L.push(`        let kv = K${i}[k${i}Base + kc * ${t.d} + c];`);
      for (const line of score('c', 'kv')) L.push(`        ${line}`);
      L.push('      }');
    }
  });
  for (const g of rows) L.push(`      sTile[${g * BC} + r] = select(-1e30, s${g}, key <= last${g});`);
  L.push('    }');
  return L;
}

/**
 * The shader: with `split`, workgroup x = split · rowBlocks + row block streams only its split's tiles
 * [split · chunk, min((split + 1) · chunk, tiles)) and writes the partials (decodeCombineWgsl's layout) instead of
 * the normalized result.
 */
export function decodeAttentionWgsl(p: DecodePlan, split = false): string {
  if (isTiled(p.shader)) return decodeTiledWgsl(p, split);
  if (p.shader === 'keys') return decodeKeysWgsl(p, split);
  const RB = p.rowsPerBlock;
  const W = width(p);
  const DV = p.dv;
  const C = columns(DV);
  const rows = range(RB);
  const offsets = p.terms.map((_, i) => p.terms.slice(0, i).reduce((s, t) => s + t.d, 0)); // term i's first column of a qTile row
  const L: string[] = [
    ...DECODE_HELPERS,
    `var<workgroup> qTile : array<f32, ${RB * W}>; // the block's query rows, times scale * log2(e)`,
    `var<workgroup> sTile : array<f32, ${RB * BC}>; // a tile's scores, then probabilities, per row`,
    `var<workgroup> cTile : array<f32, ${RB}>; // each row's rescale of its running sums for the tile`,
    `var<workgroup> lTile : array<f32, ${RB}>; // each row's sum of probabilities, at the end`,
    ...(split ? [`var<workgroup> mTile : array<f32, ${RB}>; // and its running max (the split pass writes both)`] : []),
    'fn main() {',
    '  let r = i32(localId.x);',
    '  let b = i32(workgroupId.z);',
    ...decodeBlockLines(p, split, RB),
    ...decodeRowLines(RB),
  ];
  L.push(`  for (var e = r; e < ${RB * W}; e = e + ${DECODE_THREADS}) {`);
  L.push(`    let g = fa_div(e, ${W});`);
  L.push(`    let c = e - g * ${W};`);
  L.push('    let row = first + g;');
  L.push('    var val = 0.0;');
  L.push('    if (row < uniforms.rows) {');
  p.terms.forEach((t, i) => {
    const load = `val = Q${i}[(qHead * uniforms.rows + row) * ${t.d} + c - ${offsets[i]}];`;
    if (p.terms.length === 1) L.push(`      ${load}`);
    else if (i === 0) L.push(`      if (c < ${t.d}) { ${load} }`);
    else L.push(`      if (c >= ${offsets[i]}) { ${load} }`);
  });
  L.push('    }');
  L.push('    qTile[e] = val * uniforms.qScale;');
  L.push('  }');
  L.push('  var m = -1e30; // this thread\'s row (r < RB): running max, base 2');
  L.push('  var l = 0.0; // and running sum of exp2(s - m)');
  for (const k of range(C)) L.push(`  let col${k} = min(r + ${k * DECODE_THREADS}, ${DV - 1}); // a value column this thread owns (clamped for loads)`);
  for (const g of rows) for (const k of range(C)) L.push(`  var o${g}_${k} = 0.0;`);
  L.push('  for (var t = 0; t < kbCount; t = t + 1) { // uniform bounds: the barriers below need them');
  L.push('    let kb = kbFirst + t;');
  L.push(`    let k0 = kb * ${BC};`);
  L.push('    let need = kb < kbEnd && k0 <= blockLast;');
  L.push('    workgroupBarrier();');
  L.push(...tileScores(p, offsets));
  const U = p.unroll;
  L.push('    workgroupBarrier();');
  L.push(`    if (need && r < ${RB}) {`);
  L.push('      var mx = m;');
  L.push(`      for (var j = 0; j < ${BC}; j = j + 1) { mx = max(mx, sTile[r * ${BC} + j]); }`);
  L.push('      let corr = exp2(m - mx);');
  L.push('      var sum = 0.0;');
  L.push(`      for (var j = 0; j < ${BC}; j = j + 1) {`);
  L.push(`        let sv = sTile[r * ${BC} + j];`);
  L.push('        let pv = select(0.0, exp2(sv - mx), sv > -1e29); // a masked key is 0, also in a row with no key yet');
  L.push(`        sTile[r * ${BC} + j] = pv;`);
  L.push('        sum = sum + pv;');
  L.push('      }');
  L.push('      l = l * corr + sum;');
  L.push('      m = mx;');
  L.push('      cTile[r] = corr;');
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) {');
  for (const g of rows) {
    L.push(`      let corr${g} = cTile[${g}];`);
    for (const k of range(C)) L.push(`      o${g}_${k} = o${g}_${k} * corr${g};`);
  }
  L.push(`      let n = min(${BC}, blockLast + 1 - k0);`);
  // The tile's keys U at a time: every value row's loads, then the FMAs; the last n mod U keys one at a time.
  if (U > 1) {
    L.push(`      let nFull = n - fa_mod(n, ${U});`);
    L.push(`      for (var j = 0; j < nFull; j = j + ${U}) {`);
    for (const u of range(U)) {
      L.push(`        let vRow${u} = vBase + (k0 + j + ${u}) * ${DV};`);
      for (const k of range(C)) L.push(`        let v${u}_${k} = V[vRow${u} + col${k}];`);
    }
    for (const g of rows) {
      for (const u of range(U)) {
        L.push(`        let p${g}_${u} = sTile[${g * BC} + j + ${u}];`);
        for (const k of range(C)) L.push(`        o${g}_${k} = fma(p${g}_${u}, v${u}_${k}, o${g}_${k});`);
      }
    }
    L.push('      }');
  }
  L.push(`      for (var j = ${U > 1 ? 'nFull' : '0'}; j < n; j = j + 1) {`);
  L.push(`        let vRow = vBase + (k0 + j) * ${DV};`);
  for (const k of range(C)) L.push(`        let v${k} = V[vRow + col${k}];`);
  for (const g of rows) {
    L.push(`        let p${g} = sTile[${g * BC} + j];`);
    for (const k of range(C)) L.push(`        o${g}_${k} = fma(p${g}, v${k}, o${g}_${k});`);
  }
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('  workgroupBarrier();');
  L.push(`  if (r < ${RB}) { lTile[r] = l;${split ? ' mTile[r] = m;' : ''} }`);
  L.push('  workgroupBarrier();');
  if (split) {
    const PW = partialWidth(DV);
    for (const g of rows) {
      L.push(`  if (row${g} < uniforms.rows) {`);
      L.push(`    let pAt${g} = ((qHead * uniforms.rows + row${g}) * uniforms.maxSplits + sp) * ${PW};`);
      for (const k of range(C)) {
        const col = k * DECODE_THREADS;
        const store = `result[pAt${g} + r + ${col}] = o${g}_${k};`;
        L.push(col + DECODE_THREADS <= DV ? `    ${store}` : `    if (r + ${col} < ${DV}) { ${store} }`);
      }
      L.push(`    if (r == 0) { result[pAt${g} + ${DV}] = mTile[${g}]; result[pAt${g} + ${DV + 1}] = lTile[${g}]; }`);
      L.push('  }');
    }
    L.push('}');
    return L.join('\n');
  }
  for (const g of rows) {
    L.push(`  if (row${g} < uniforms.rows) {`);
    L.push(`    let inv${g} = 1.0 / lTile[${g}];`);
    L.push(`    let out${g} = (qHead * uniforms.rows + row${g}) * ${DV} + r;`);
    for (const k of range(C)) {
      const col = k * DECODE_THREADS;
      const store = `result[out${g} + ${col}] = o${g}_${k} * inv${g};`;
      L.push(col + DECODE_THREADS <= DV ? `    ${store}` : `    if (r + ${col} < ${DV}) { ${store} }`);
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}
