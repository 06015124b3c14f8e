// LOST (dev/README.md): was lib/backend/webgpu/kernels/decode-latent-wgsl.ts behind MLA_WEBGPU_DECODE_LATENT=on, taken
// by decode-attention.ts's latentStages for absorbed MLA (values = the first key term, every key shared, rows ≤ 512
// wide, its ~33 KiB within the device's workgroup memory). H200, 2026-12-06 (data/bench/device/
// decode-latent-ab-2026-12-06-h200/): attention GPU ms per step, latent against general, 7.29 / 3.82 at batch 16 and
// 4k, 45.40 / 18.25 at 32k, 45.31 / 18.08 at batch 64 and 8k: 1.9–2.5× slower. Likely why: 5 barriers per 16-key tile,
// and its scores read one shared float per FMA (a row's slice of the query in registers against 4 keys), which caps
// fp32 SIMT at a quarter of its rate. Not compiled; it imports as from lib/backend/webgpu/kernels/.
// The latent decode-attention shader: the op of lib/ops/decode-attention.ts where every head reads one shared
// cache whose values are its first key term (absorbed MLA: the latent is the key of the first score term and the
// value, the RoPE key the second term). One tile of 16 cached rows is loaded once into workgroup memory and serves
// both products of the step, for 16 query rows (all heads of a token) at once: the scores Q·Kᵀ and the weighted sum
// P·V. FlashMLA's idea (one pass over the latent for every head), in fp32 SIMT: on the H200 absorbed MLA at 16 heads
// does ~16 FLOP per byte it reads, at the fp32 ridge (~67 TFLOP/s over ~4.8 TB/s), so the shader is built to keep
// the FMA units busy rather than to stream bytes: both products are register-tiled.
//
// Layout: Q{i} (B, 1, M, d_i) (the heads folded into the rows by the op), K{i} (B, 1, S, d_i), V = K0 (the same
// tensor: the kernel checks it); the result (B, 1, M, d_0) flat, or the split pass's partials (decodeCombineWgsl's
// layout, combined by the same shader as the general kernel's). Row r sits at position qStart + r mod Tq and sees keys
// 0 ..= that position.
//
// A workgroup of 128 threads takes 16 rows (a row block) and loops over tiles of 16 keys:
//   load     every thread copies the tile's rows [term 0 | term 1 | zeros to a multiple of 4] into kTile (vec4s),
//            coalesced; keys after the block's last position load as zeros (never read: NaN there must not spread);
//   scores   thread (r = t mod 16, s = t / 16) holds row r's query columns of slice s (S4 vec4s, scaled by
//            scale·log2 e, in registers for the whole pass) and scores the 16 keys against them: partial dot products
//            into pTile, then the same thread sums the 8 slices of keys 2s and 2s + 1 of its row, masked;
//   softmax  each thread reads its row's 16 scores and keeps the row's running max and sum (the 8 threads of a row
//            hold the same values), writes its two keys' probabilities and, thread s = 0, the row's rescale;
//   values   thread t owns value columns t, t + 128, … for all 16 rows (16 · ⌈dv/128⌉ sums in registers) and adds
//            the tile's 16 probability-weighted latent rows, read back from kTile.
// Loops that hold barriers run counts from the uniforms alone (WGSL's uniformity rule); tiles past the block's last
// position do nothing inside them. Scalar and vec4<f32> code within test/helpers/wgsl-typed.ts's subset, so the
// tests run this shader thread by thread on the CPU.
// Shape legend: B batch, M rows (heads · new positions), S cached keys, d_i term widths, W = Σ d_i, dv = d_0 value
// width, RB rows per block, BK keys per tile, SL slices of a row, S4 vec4s per slice, W4 vec4s per key row.
import { partialWidth } from './decode-attention-wgsl';

export const LATENT_THREADS = 128;
/** Rows per workgroup. */
const RB = 16;
/** Keys per tile. */
export const LATENT_TILE_KEYS = 16;
const BK = LATENT_TILE_KEYS;
/** Slices a query row is cut into: one per thread of the row (LATENT_THREADS / RB). */
const SL = LATENT_THREADS / RB;
/** Widest score row (Σ d_i) and value row the shader takes: S4 ≤ 16 vec4s in registers, ≤ 4 value columns a thread. */
export const LATENT_MAX_WIDTH = 512;
export const LATENT_MAX_VALUE = 512;
/** The fewest tiles one split takes (64 keys), and the workgroups the splits aim at. */
export const LATENT_SPLIT_MIN_TILES = 4;
const SPLIT_TARGET = 1024;
const LOG2E = Math.LOG2E;

export interface LatentPlan {
  /** Widths of the score terms (term 0 is also the value). */
  d: number[];
  B: number;
  rows: number;
  keys: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const width = (p: LatentPlan) => p.d.reduce((s, d) => s + d, 0);
/** vec4s per key row of kTile, and per slice of a query row. */
const w4 = (p: LatentPlan) => Math.ceil(width(p) / 4);
const s4 = (p: LatentPlan) => Math.ceil(w4(p) / SL);
/** Value columns per thread. */
const columns = (p: LatentPlan) => Math.ceil(p.d[0] / LATENT_THREADS);
const rowBlocks = (p: LatentPlan) => Math.ceil(p.rows / RB);
/** kTile's vec4s: BK rows of W4, and the slices' overhang past the last row (always zero, read only against zero queries). */
const kTileLength = (p: LatentPlan) => BK * w4(p) + (SL * s4(p) - w4(p));
/** The score tile's row stride in vec4s: 5 (20 floats) so that the 16 rows' reads fall in different banks. */
const S_STRIDE = 5;

/** Bytes of workgroup memory the shader declares. */
export function latentWorkgroupBytes(p: LatentPlan): number {
  const floats = kTileLength(p) * 4 + SL * RB * BK + RB * S_STRIDE * 4 + RB * (BK / 4) * 4 + 3 * RB;
  return floats * 4;
}

/**
 * Why the shader cannot take these shapes (queries already folded: (B, 1, M, d_i)), or null: every key and the value
 * shared, the value the first term's key (`valueIsKey0`: the same tensor), widths within the registers.
 */
export function latentUnsupported(qShapes: number[][], kShapes: number[][], vShape: number[], valueIsKey0: boolean): string | null {
  if (!valueIsKey0) return 'the values are not the first key term';
  if (qShapes[0][1] !== 1 || kShapes.some((k) => k[1] !== 1) || vShape[1] !== 1) return 'keys or values per head';
  const w = qShapes.reduce((s, q) => s + q[3], 0);
  if (w > LATENT_MAX_WIDTH) return `score width ${w} > ${LATENT_MAX_WIDTH}`;
  if (vShape[3] > LATENT_MAX_VALUE) return `value width ${vShape[3]} > ${LATENT_MAX_VALUE}`;
  if (Math.ceil(qShapes[0][2] / RB) > 65535) return `${qShapes[0][2]} rows`;
  return null;
}

export function latentPlan(qShapes: number[][], vShape: number[]): LatentPlan {
  return { d: qShapes.map((q) => q[3]), B: qShapes[0][0], rows: qShapes[0][2], keys: vShape[2] };
}

export function latentKey(p: LatentPlan): string {
  return `mlaDecodeLatent_${p.d.join('_')}`;
}

/** Key tiles the workgroups loop over: up to the last query's position. */
export function latentTiles(keys: number, qStart: number, queries: number): number {
  return Math.ceil(Math.min(keys, qStart + queries) / BK);
}

/** Splits the cache's capacity allows (fixed for a cache: the partials keep one size from step to step). */
export function latentMaxSplits(p: LatentPlan): number {
  const byWork = Math.ceil(SPLIT_TARGET / (rowBlocks(p) * p.B));
  const byTiles = Math.floor(Math.ceil(p.keys / BK) / LATENT_SPLIT_MIN_TILES);
  const byAxis = Math.floor(65535 / rowBlocks(p));
  return Math.max(1, Math.min(byWork, byTiles, byAxis));
}

/** Splits for a call reading `tiles` tiles. */
export function latentSplits(p: LatentPlan, tiles: number): number {
  return Math.max(1, Math.min(latentMaxSplits(p), Math.floor(tiles / LATENT_SPLIT_MIN_TILES)));
}

export function latentUniforms(p: LatentPlan, a: { scale: number; qStart: number; queries: number }, splits = 1): [string, 'i32' | 'f32', number][] {
  const tiles = latentTiles(p.keys, a.qStart, a.queries);
  return [
    ['rows', 'i32', p.rows],
    ['keys', 'i32', p.keys],
    ['queries', 'i32', a.queries],
    ['qStart', 'i32', a.qStart],
    ['tiles', 'i32', tiles],
    ['qScale', 'f32', a.scale * LOG2E],
    ['rowBlocks', 'i32', rowBlocks(p)],
    ['chunk', 'i32', Math.ceil(tiles / splits)],
    ['maxSplits', 'i32', latentMaxSplits(p)],
  ];
}

/** Workgroups: (row blocks · splits, 1, B); x = split · rowBlocks + row block. */
export function latentDispatch(p: LatentPlan, splits = 1): [number, number, number] {
  return [rowBlocks(p) * splits, 1, p.B];
}

/** Floats of the split pass's partials (B·rows, maxSplits, dv + 2). */
export function latentPartialSize(p: LatentPlan): number {
  return p.B * p.rows * latentMaxSplits(p) * partialWidth(p.d[0]);
}

/** The shader; with `split`, the partials of split x / rowBlocks over its tiles instead of the normalized result. */
export function decodeLatentWgsl(p: LatentPlan, split = false): string {
  const W = width(p);
  const W4 = w4(p);
  const S4 = s4(p);
  const C = columns(p);
  const DV = p.d[0];
  const T = LATENT_THREADS;
  const offsets = p.d.map((_, i) => p.d.slice(0, i).reduce((s, d) => s + d, 0)); // term i's first column of a key row
  const L: string[] = [
    'fn fa_div(a : i32, b : i32) -> i32 { return a / b; }',
    'fn fa_mod(a : i32, b : i32) -> i32 { return a % b; }',
    `var<workgroup> kTile : array<vec4<f32>, ${kTileLength(p)}>; // the tile's key rows [term 0 | term 1 | 0], ${W4} vec4s each`,
    `var<workgroup> pTile : array<f32, ${SL * RB * BK}>; // partial scores: [key][slice][row]`,
    `var<workgroup> sTile : array<vec4<f32>, ${RB * S_STRIDE}>; // the tile's masked scores: row r's 16 at r * ${S_STRIDE}`,
    `var<workgroup> pv : array<vec4<f32>, ${RB * (BK / 4)}>; // probabilities: row g's keys 4q .. 4q + 3 at g * ${BK / 4} + q`,
    `var<workgroup> cTile : array<f32, ${RB}>; // each row's rescale of its sums for the tile`,
    `var<workgroup> lTile : array<f32, ${RB}>;`,
    `var<workgroup> mTile : array<f32, ${RB}>;`,
    // Query column `col` of row `row` (b's), scaled; zero past the row's width or the rows.
    'fn latentQ(b : i32, row : i32, col : i32) -> f32 {',
    `  if (row >= uniforms.rows || col >= ${W}) { return 0.0; }`,
  ];
  p.d.forEach((d, i) => {
    const at = `Q${i}[(b * uniforms.rows + row) * ${d} + col - ${offsets[i]}]`;
    L.push(i === p.d.length - 1 ? `  return ${at} * uniforms.qScale;` : `  if (col < ${offsets[i] + d}) { return ${at} * uniforms.qScale; }`);
  });
  L.push('}');
  L.push('fn main() {');
  L.push('  let t = i32(localId.x);');
  L.push('  let b = i32(workgroupId.z);');
  if (split) {
    L.push('  let sp = fa_div(i32(workgroupId.x), uniforms.rowBlocks); // this workgroup\'s split');
    L.push(`  let first = (i32(workgroupId.x) - sp * uniforms.rowBlocks) * ${RB};`);
    L.push('  let kbFirst = sp * uniforms.chunk;');
    L.push('  let kbEnd = min(kbFirst + uniforms.chunk, uniforms.tiles);');
    // The loop runs the uniform `chunk` tiles (a bound from the workgroup id would be non-uniform to Tint).
    L.push('  let kbCount = uniforms.chunk;');
  } else {
    L.push(`  let first = i32(workgroupId.x) * ${RB};`);
    L.push('  let kbFirst = 0;');
    L.push('  let kbEnd = uniforms.tiles;');
    L.push('  let kbCount = uniforms.tiles;');
  }
  L.push(`  let r = fa_mod(t, ${RB}); // this thread's row for the scores and the softmax`);
  L.push(`  let s = fa_div(t, ${RB}); // its slice of the row's columns, and its keys 2s, 2s + 1`);
  L.push('  let row = first + r;');
  L.push('  let last = select(-1, uniforms.qStart + fa_mod(row, uniforms.queries), row < uniforms.rows); // its last key; -1: no row');
  L.push('  var blockLast = -1;');
  for (const g of range(RB)) {
    L.push(`  if (first + ${g} < uniforms.rows) { blockLast = max(blockLast, uniforms.qStart + fa_mod(first + ${g}, uniforms.queries)); }`);
  }
  p.d.forEach((d, i) => L.push(`  let k${i}Base = b * uniforms.keys * ${d};`));
  for (const i of range(S4)) {
    const c = `(s * ${S4} + ${i}) * 4`;
    L.push(`  let q${i} = vec4<f32>(latentQ(b, row, ${c}), latentQ(b, row, ${c} + 1), latentQ(b, row, ${c} + 2), latentQ(b, row, ${c} + 3));`);
  }
  for (const k of range(C)) {
    L.push(`  let col${k} = min(t + ${k * T}, ${DV - 1}); // a value column this thread owns (clamped for loads)`);
    L.push(`  let cq${k} = fa_div(col${k}, 4);`);
    L.push(`  let cc${k} = col${k} - cq${k} * 4;`);
  }
  for (const g of range(RB)) for (const k of range(C)) L.push(`  var o${g}_${k} = 0.0;`);
  L.push('  var m = -1e30; // row r\'s running max (base 2), the same in its 8 threads');
  L.push('  var l = 0.0; // and running sum of exp2(score - m)');
  L.push('  for (var it = 0; it < kbCount; it = it + 1) { // uniform bounds: the barriers below need them');
  L.push('    let kb = kbFirst + it;');
  L.push(`    let k0 = kb * ${BK};`);
  L.push('    let need = kb < kbEnd && k0 <= blockLast;');
  L.push('    workgroupBarrier(); // the last tile\'s reads of kTile are done');
  L.push('    if (need) {');
  p.d.forEach((d, i) => {
    // Elements e = t, t + 128, … of the tile's BK·d contiguous values of term i: key j = e / d, column c = e mod d,
    // advanced without a division per element.
    const n = Math.ceil((BK * d) / T);
    L.push(`      var e${i} = t;`);
    L.push(`      var j${i} = fa_div(t, ${d});`);
    L.push(`      var c${i} = t - j${i} * ${d};`);
    L.push(`      for (var n = 0; n < ${n}; n = n + 1) {`);
    L.push(`        if (e${i} < ${BK * d}) {`);
    L.push('          var val = 0.0;');
    L.push(`          if (k0 + j${i} <= blockLast) { val = K${i}[k${i}Base + k0 * ${d} + e${i}]; }`);
    L.push(`          let pc = ${offsets[i]} + c${i};`);
    L.push(`          kTile[j${i} * ${W4} + fa_div(pc, 4)][fa_mod(pc, 4)] = val;`);
    L.push('        }');
    L.push(`        e${i} = e${i} + ${T};`);
    L.push(`        c${i} = c${i} + ${T % d};`);
    L.push(`        j${i} = j${i} + ${Math.floor(T / d)};`);
    L.push(`        if (c${i} >= ${d}) { c${i} = c${i} - ${d}; j${i} = j${i} + 1; }`);
    L.push('      }');
  });
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) { // partial scores of the tile\'s 16 keys, 4 at a time, over this thread\'s slice');
  L.push(`      for (var jq = 0; jq < ${BK / 4}; jq = jq + 1) {`);
  for (const u of range(4)) L.push(`        var a${u} = 0.0;`);
  for (const i of range(S4)) {
    for (const u of range(4)) L.push(`        let k${u}_${i} = kTile[(jq * 4 + ${u}) * ${W4} + s * ${S4} + ${i}];`);
    for (const u of range(4)) for (const c of ['x', 'y', 'z', 'w']) L.push(`        a${u} = fma(q${i}.${c}, k${u}_${i}.${c}, a${u});`);
  }
  for (const u of range(4)) L.push(`        pTile[(jq * 4 + ${u}) * ${SL * RB} + s * ${RB} + r] = a${u};`);
  L.push('      }');
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) { // the scores of keys 2s and 2s + 1 of row r, masked');
  for (const u of range(2)) {
    L.push(`      let j${u} = 2 * s + ${u};`);
    L.push(`      var sc${u} = 0.0;`);
    for (const sl of range(SL)) L.push(`      sc${u} = sc${u} + pTile[j${u} * ${SL * RB} + ${sl * RB} + r];`);
    L.push(`      sTile[r * ${S_STRIDE} + fa_div(j${u}, 4)][fa_mod(j${u}, 4)] = select(-1e30, sc${u}, k0 + j${u} <= last);`);
  }
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) { // the online softmax of row r (every thread of the row alike), and this thread\'s two probabilities');
  for (const q of range(BK / 4)) L.push(`      let sv${q} = sTile[r * ${S_STRIDE} + ${q}];`);
  const comps = range(BK / 4).flatMap((q) => ['x', 'y', 'z', 'w'].map((c) => `sv${q}.${c}`));
  L.push(`      let mx = ${comps.reduce((acc, v) => `max(${acc}, ${v})`, 'm')};`);
  L.push('      let corr = exp2(m - mx);');
  L.push('      var sum = 0.0;');
  for (const v of comps) L.push(`      sum = sum + select(0.0, exp2(${v} - mx), ${v} > -1e29); // a masked key is 0, also in a row with no key yet`);
  L.push('      l = l * corr + sum;');
  L.push('      m = mx;');
  for (const u of range(2)) {
    L.push(`      let j${u} = 2 * s + ${u};`);
    L.push(`      let x${u} = sTile[r * ${S_STRIDE} + fa_div(j${u}, 4)][fa_mod(j${u}, 4)];`);
    L.push(`      pv[r * ${BK / 4} + fa_div(j${u}, 4)][fa_mod(j${u}, 4)] = select(0.0, exp2(x${u} - mx), x${u} > -1e29);`);
  }
  L.push('      if (s == 0) { cTile[r] = corr; }');
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) { // the values: all 16 rows of this thread\'s columns, the tile\'s keys 4 at a time');
  for (const g of range(RB)) {
    L.push(`      let corr${g} = cTile[${g}];`);
    for (const k of range(C)) L.push(`      o${g}_${k} = o${g}_${k} * corr${g};`);
  }
  L.push(`      for (var jq = 0; jq < ${BK / 4}; jq = jq + 1) {`);
  for (const u of range(4)) for (const k of range(C)) L.push(`        let v${u}_${k} = kTile[(jq * 4 + ${u}) * ${W4} + cq${k}][cc${k}];`);
  for (const g of range(RB)) {
    L.push(`        let p${g} = pv[${g * (BK / 4)} + jq];`);
    for (const [u, c] of ['x', 'y', 'z', 'w'].entries()) for (const k of range(C)) L.push(`        o${g}_${k} = fma(p${g}.${c}, v${u}_${k}, o${g}_${k});`);
  }
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('  workgroupBarrier();');
  L.push('  if (s == 0) { lTile[r] = l; mTile[r] = m; }');
  L.push('  workgroupBarrier();');
  const PW = partialWidth(DV);
  for (const g of range(RB)) {
    L.push(`  if (first + ${g} < uniforms.rows) {`);
    if (split) {
      L.push(`    let at${g} = ((b * uniforms.rows + first + ${g}) * uniforms.maxSplits + sp) * ${PW};`);
      for (const k of range(C)) {
        const store = `result[at${g} + t + ${k * T}] = o${g}_${k};`;
        L.push((k + 1) * T <= DV ? `    ${store}` : `    if (t + ${k * T} < ${DV}) { ${store} }`);
      }
      L.push(`    if (t == 0) { result[at${g} + ${DV}] = mTile[${g}]; result[at${g} + ${DV + 1}] = lTile[${g}]; }`);
    } else {
      L.push(`    let inv${g} = 1.0 / lTile[${g}];`);
      L.push(`    let at${g} = (b * uniforms.rows + first + ${g}) * ${DV} + t;`);
      for (const k of range(C)) {
        const store = `result[at${g} + ${k * T}] = o${g}_${k} * inv${g};`;
        L.push((k + 1) * T <= DV ? `    ${store}` : `    if (t + ${k * T} < ${DV}) { ${store} }`);
      }
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}
