// Causal attention in three WGSL shaders that never materialise the (T, T) scores (FlashAttention-2's
// schedule, fp32): a forward pass with an online softmax that also writes each row's log-sum-exp, and a
// backward pass split in two because WGSL has no float atomics: one shader per query block sums dQ over
// keys, one per key block sums dK and dV over queries, each recomputing the probabilities from the saved
// log-sum-exp. At T = 1024 the unfused core wrote and re-read a (B, H, T, T) tensor about ten times per layer
// per step (512 MB each for the 35M models) and ran ~25 kernels; this is 3 kernels and O(T·D) memory.
//
// Layout: one "row" per (batch·head, position): Q, K (BH, T, D), V (BH, T, Dv), row-major f32. The scores
// are s = scale · q·k, computed in base 2 (q is pre-multiplied by scale·log2 e, so exp becomes exp2).
// A thread owns one or two query rows (forward, dQ; two where the head dims leave registers for them) or one
// key row (dK/dV) and keeps them and their accumulators in registers as vec4s; the other side streams through
// workgroup memory in tiles. Loops that hold barriers run a uniform count and skip the tiles a workgroup does
// not need (WGSL's uniformity rule). On the H200 the three take 5.9, 7.8 and 9.1 ms of a 35M MLA step
// (8 layers; data/bench/device/session-3/).
//
// Vector arithmetic goes only through function calls (vec4<f32>(…), dot, fma, fa_scale) and scalar code
// through operators, so test/backend/webgpu/flash-attention.test.ts can translate these shaders to JavaScript and
// run them on the CPU, thread by thread between barriers.
// The head dims these shaders take (FLASH_MAX_DIM, flashUnsupported) are the op's contract, lib/ops/flash-attention.ts.
// Shape legend: BH batch·heads, T time, D query/key dim, Dv value dim, BR/BC rows per tile.
import { type FlashDims, flashUnsupported } from '../../../ops/flash-attention';

/** Threads per workgroup (query rows per forward / dQ workgroup per row per thread; key rows per dK/dV one). */
export const FLASH_ROWS = 64;
/**
 * Workgroup memory the streamed tiles take by default: WebGPU's default limit (16 KiB). Where the device allows
 * more (the H100/H200: 48 KiB), MLA_WEBGPU_FLASH_TILE_KIB=32 lets wider heads keep 64-row tiles (35M MLA's 48 + 32
 * dims: 64 rows instead of 32, half the tile loops and barriers).
 */
export const FLASH_TILE_BYTES = 16384;
const LOG2E = Math.LOG2E;

/** Rows per streamed tile: the largest power of two ≤ 64 whose tiles (and `extraFloatsPerRow`) fit in `bytes` of workgroup memory. */
export function tileRows(d: FlashDims, extraFloatsPerRow = 0, bytes = FLASH_TILE_BYTES): number {
  let rows = 64;
  while (rows > 4 && rows * (d.D + d.Dv + extraFloatsPerRow) * 4 > bytes) rows /= 2;
  return rows;
}

/** Tiles of keys per forward / dQ tile loop, query tiles per dK/dV loop, and the dispatch of each shader. */
export interface FlashPlan {
  dims: FlashDims;
  T: number;
  BH: number;
  /** Keys per tile in the forward and dQ shaders. */
  keyTile: number;
  /** Queries per tile in the dK/dV shader. */
  queryTile: number;
  /** Query rows per thread in the forward and dQ shaders (FLASH_ROWS · rows per workgroup). */
  forwardRows: number;
  dqRows: number;
}

/** Query rows per thread: 2 halves the workgroup-memory reads per FMA; past 32-wide heads the registers would spill. */
export function rowsPerThread(d: FlashDims, requested = 2): number {
  return d.D + d.Dv <= 64 ? requested : 1;
}

export function flashPlan(BH: number, T: number, dims: FlashDims, rows = 2, tileBytes = FLASH_TILE_BYTES): FlashPlan {
  const why = flashUnsupported(dims);
  if (why) throw new RangeError(`flash attention: ${why}`);
  const R = rowsPerThread(dims, rows);
  return { dims, T, BH, keyTile: tileRows(dims, 0, tileBytes), queryTile: tileRows(dims, 2, tileBytes), forwardRows: R, dqRows: R };
}

const blocks = (n: number, size: number) => Math.ceil(n / size);

/** Uniforms (name, type, value) of each shader, in declaration order. */
export function flashUniforms(p: FlashPlan, scale: number, kind: 'forward' | 'dq' | 'dkv'): [string, 'f32' | 'i32', number][] {
  const common: [string, 'f32' | 'i32', number][] = [
    ['T', 'i32', p.T],
    ['rowBlocks', 'i32', flashDispatch(p, kind)[0]],
    ['qScale', 'f32', scale * LOG2E],
    ['scale', 'f32', scale],
  ];
  const tiles = kind === 'dkv' ? blocks(p.T, p.queryTile) : blocks(p.T, p.keyTile);
  return [...common, ['tiles', 'i32', tiles], ['offset', 'i32', p.BH * p.T * (kind === 'dkv' ? p.dims.D : p.dims.Dv)]];
}

/** Workgroups of each shader: (row blocks, BH, 1). */
export function flashDispatch(p: FlashPlan, kind: 'forward' | 'dq' | 'dkv'): [number, number, number] {
  const rows = { forward: p.forwardRows, dq: p.dqRows, dkv: 1 }[kind];
  return [blocks(p.T, FLASH_ROWS * rows), p.BH, 1];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Helpers whose JavaScript twins the CPU test supplies (vector ops stay calls, see the header). */
const HELPERS = `fn fa_scale(a : vec4<f32>, s : f32) -> vec4<f32> { return a * s; }
fn fa_div(a : i32, b : i32) -> i32 { return a / b; }
fn fa_mod(a : i32, b : i32) -> i32 { return a % b; }`;

/** `let name{i} = vec4(buf[base + 4i .. 4i+3]) (· factor)` for the n vec4s of one row. */
function loadRow(name: string, buf: string, base: string, n4: number, factor?: string): string[] {
  return range(n4).map((i) => {
    const v = `vec4<f32>(${range(4).map((c) => `${buf}[${base} + ${i * 4 + c}]`).join(', ')})`;
    return `  let ${name}${i} = ${factor ? `fa_scale(${v}, ${factor})` : v};`;
  });
}

/** Statements copying `rows` rows of `width` floats from buf (rows from `first`) into a vec4 tile, zero past T. */
function loadTile(tile: string, buf: string, first: string, rows: number, width: number, factor?: string): string[] {
  const w4 = width / 4;
  const v = `vec4<f32>(${range(4).map((c) => `${buf}[g + ${c}]`).join(', ')})`;
  return [
    `      for (var e = r; e < ${rows * w4}; e = e + ${FLASH_ROWS}) {`,
    `        let t = ${first} + fa_div(e, ${w4});`,
    '        var val = vec4<f32>(0.0);',
    `        if (t < uniforms.T) { let g = (bh * uniforms.T + t) * ${width} + fa_mod(e, ${w4}) * 4; val = ${factor ? `fa_scale(${v}, ${factor})` : v}; }`,
    `        ${tile}[e] = val;`,
    '      }',
  ];
}

/** Σ_i dot(a{i}, tile[base + i]) over n vec4s. */
const dotRow = (a: string, tile: string, base: string, n4: number) => range(n4).map((i) => `dot(${a}${i}, ${tile}[${base} + ${i}])`).join(' + ');

/**
 * The start of the forward and dQ shaders: K/V tiles in workgroup memory, and each thread's query rows
 * row{s} = block start + r + 64·s, s < R (a warp's rows stay contiguous), the longest blocks dispatched first.
 */
function queryRowsPrologue(BC: number, D4: number, V4: number, R: number): string[] {
  const L = [HELPERS];
  L.push(`var<workgroup> kTile : array<vec4<f32>, ${BC * D4}>;`);
  L.push(`var<workgroup> vTile : array<vec4<f32>, ${BC * V4}>;`);
  L.push('fn main() {');
  L.push('  let r = i32(localId.x);');
  L.push('  let bh = i32(workgroupId.y);');
  L.push('  let qb = uniforms.rowBlocks - 1 - i32(workgroupId.x); // the longest rows first');
  L.push(`  let first = qb * ${FLASH_ROWS * R};`);
  for (const s of range(R)) {
    L.push(`  let row${s} = first + r + ${s * FLASH_ROWS};`);
    L.push(`  let live${s} = row${s} < uniforms.T;`);
    L.push(`  let rowAt${s} = bh * uniforms.T + min(row${s}, uniforms.T - 1);`);
  }
  L.push(`  let lastRow = min(first + ${FLASH_ROWS * R - 1}, uniforms.T - 1); // the block's last row, so its last key`);
  return L;
}

/** The K and V tiles of key tile kb (skipped when the block needs no key of it), between barriers. */
function keyTileLoop(D: number, Dv: number, BC: number, R: number, body: string[]): string[] {
  return [
    '  for (var kb = 0; kb < uniforms.tiles; kb = kb + 1) {',
    `    let k0 = kb * ${BC};`,
    '    let needed = k0 <= lastRow;',
    '    workgroupBarrier();',
    '    if (needed) {',
    ...loadTile('kTile', 'K', 'k0', BC, D),
    ...loadTile('vTile', 'V', 'k0', BC, Dv),
    '    }',
    '    workgroupBarrier();',
    '    if (needed && live0) {',
    ...range(R).map((s) => `      let n${s} = min(${BC}, row${s} - k0 + 1); // keys k0 ..= row${s} of this tile`),
    `      let nMax = ${range(R).reduce((acc, s) => (acc ? `max(${acc}, n${s})` : `n${s}`), '')};`,
    ...body,
    '    }',
    '  }',
  ];
}

/**
 * The forward shader: O (BH, T, Dv) then log-sum-exp (BH, T) in one flat output. Inputs Q, K, V. Each thread
 * owns plan.forwardRows query rows, so each K/V value read from workgroup memory feeds that many rows.
 */
export function flashForwardWgsl(p: FlashPlan): string {
  const { D, Dv } = p.dims;
  const [D4, V4, BC, R] = [D / 4, Dv / 4, p.keyTile, p.forwardRows];
  const L = queryRowsPrologue(BC, D4, V4, R);
  for (const s of range(R)) {
    L.push(...loadRow(`q${s}_`, 'Q', `rowAt${s} * ${D}`, D4, 'uniforms.qScale'));
    for (const i of range(V4)) L.push(`  var o${s}_${i} = vec4<f32>(0.0);`);
    L.push(`  var m${s} = -1e30; // running max (base 2)`);
    L.push(`  var l${s} = 0.0; // running Σ exp2(s − m)`);
  }
  // Four keys at a time: one rescale of the accumulators per four keys instead of per key.
  const body = ['      for (var j = 0; j < nMax; j = j + 4) {'];
  for (const s of range(R)) {
    for (const c of range(4)) body.push(`        let s${s}_${c} = select(-1e30, ${dotRow(`q${s}_`, 'kTile', `(j + ${c}) * ${D4}`, D4)}, j + ${c} < n${s});`);
    body.push(`        let mNew${s} = max(m${s}, max(max(s${s}_0, s${s}_1), max(s${s}_2, s${s}_3)));`);
    body.push(`        let corr${s} = exp2(m${s} - mNew${s});`);
    for (const c of range(4)) body.push(`        let p${s}_${c} = select(0.0, exp2(s${s}_${c} - mNew${s}), j + ${c} < n${s});`);
    body.push(`        l${s} = l${s} * corr${s} + (p${s}_0 + p${s}_1 + p${s}_2 + p${s}_3);`);
    for (const i of range(V4)) {
      let acc = `fa_scale(o${s}_${i}, corr${s})`;
      for (const c of range(4)) acc = `fma(vec4<f32>(p${s}_${c}), vTile[(j + ${c}) * ${V4} + ${i}], ${acc})`;
      body.push(`        o${s}_${i} = ${acc};`);
    }
    body.push(`        m${s} = mNew${s};`);
  }
  body.push('      }');
  L.push(...keyTileLoop(D, Dv, BC, R, body));
  for (const s of range(R)) {
    L.push(`  if (live${s}) {`);
    L.push(`    let inv = 1.0 / l${s};`);
    L.push(`    let oBase = rowAt${s} * ${Dv};`);
    for (const i of range(V4)) for (const c of range(4)) L.push(`    result[oBase + ${i * 4 + c}] = o${s}_${i}[${c}] * inv;`);
    L.push(`    result[uniforms.offset + rowAt${s}] = (m${s} + log2(l${s})) * ${Math.LN2}; // natural log`);
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

/**
 * The dQ shader: dQ (BH, T, D). Inputs Q, K, V, DO (dO), LSE (BH, T), DELTA (BH, T) = Σ dO ⊙ O per row.
 * plan.dqRows query rows per thread.
 */
export function flashDqWgsl(p: FlashPlan): string {
  const { D, Dv } = p.dims;
  const [D4, V4, BC, R] = [D / 4, Dv / 4, p.keyTile, p.dqRows];
  const L = queryRowsPrologue(BC, D4, V4, R);
  for (const s of range(R)) {
    L.push(...loadRow(`q${s}_`, 'Q', `rowAt${s} * ${D}`, D4, 'uniforms.qScale'));
    L.push(...loadRow(`g${s}_`, 'DO', `rowAt${s} * ${Dv}`, V4));
    L.push(`  let lse2_${s} = LSE[rowAt${s}] * ${LOG2E};`);
    L.push(`  let delta${s} = DELTA[rowAt${s}];`);
    for (const i of range(D4)) L.push(`  var dq${s}_${i} = vec4<f32>(0.0);`);
  }
  const body = ['      for (var j = 0; j < nMax; j = j + 1) {'];
  for (const s of range(R)) {
    body.push(`        let p${s} = select(0.0, exp2(${dotRow(`q${s}_`, 'kTile', `j * ${D4}`, D4)} - lse2_${s}), j < n${s});`);
    body.push(`        let ds${s} = p${s} * ((${dotRow(`g${s}_`, 'vTile', `j * ${V4}`, V4)}) - delta${s});`);
    for (const i of range(D4)) body.push(`        dq${s}_${i} = fma(vec4<f32>(ds${s}), kTile[j * ${D4} + ${i}], dq${s}_${i});`);
  }
  body.push('      }');
  L.push(...keyTileLoop(D, Dv, BC, R, body));
  for (const s of range(R)) {
    L.push(`  if (live${s}) {`);
    for (const i of range(D4)) for (const c of range(4)) L.push(`    result[rowAt${s} * ${D} + ${i * 4 + c}] = dq${s}_${i}[${c}] * uniforms.scale;`);
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}

/** The dK/dV shader: dK (BH, T, D) then dV (BH, T, Dv) in one flat output. Same inputs as the dQ shader. */
export function flashDkvWgsl(p: FlashPlan): string {
  const { D, Dv } = p.dims;
  const [D4, V4, BR] = [D / 4, Dv / 4, p.queryTile];
  const L: string[] = [HELPERS];
  L.push(`var<workgroup> qTile : array<vec4<f32>, ${BR * D4}>; // q · scale · log2 e`);
  L.push(`var<workgroup> gTile : array<vec4<f32>, ${BR * V4}>; // dO`);
  L.push(`var<workgroup> lTile : array<f32, ${BR}>; // log-sum-exp, base 2`);
  L.push(`var<workgroup> dTile : array<f32, ${BR}>; // Σ dO ⊙ O`);
  L.push('fn main() {');
  L.push('  let r = i32(localId.x);');
  L.push('  let bh = i32(workgroupId.y);');
  L.push('  let kb = i32(workgroupId.x); // the first keys see the most queries: dispatched first');
  L.push(`  let key = kb * ${FLASH_ROWS} + r;`);
  L.push('  let live = key < uniforms.T;');
  L.push(`  let firstKey = kb * ${FLASH_ROWS};`);
  L.push('  let rowAt = bh * uniforms.T + min(key, uniforms.T - 1);');
  L.push(`  let kBase = rowAt * ${D};`);
  L.push(`  let vBase = rowAt * ${Dv};`);
  L.push(...loadRow('k', 'K', 'kBase', D4));
  L.push(...loadRow('v', 'V', 'vBase', V4));
  for (const i of range(D4)) L.push(`  var dk${i} = vec4<f32>(0.0);`);
  for (const i of range(V4)) L.push(`  var dv${i} = vec4<f32>(0.0);`);
  L.push('  for (var qt = 0; qt < uniforms.tiles; qt = qt + 1) {');
  L.push(`    let i0 = qt * ${BR};`);
  L.push(`    let needed = i0 + ${BR - 1} >= firstKey; // some query of the tile sees some key of the block`);
  L.push('    workgroupBarrier();');
  L.push('    if (needed) {');
  L.push(...loadTile('qTile', 'Q', 'i0', BR, D, 'uniforms.qScale'));
  L.push(`      if (r < ${BR}) {`);
  L.push('        let t = i0 + r;');
  L.push('        var lv = 0.0;');
  L.push('        var dl = 0.0;');
  L.push(`        if (t < uniforms.T) { lv = LSE[bh * uniforms.T + t] * ${LOG2E}; dl = DELTA[bh * uniforms.T + t]; }`);
  L.push('        lTile[r] = lv;');
  L.push('        dTile[r] = dl;');
  L.push('      }');
  L.push(...loadTile('gTile', 'DO', 'i0', BR, Dv));
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (needed && live) {');
  L.push('      let first = max(0, key - i0); // causal: queries at or after the key');
  L.push(`      let last = min(${BR}, uniforms.T - i0);`);
  L.push('      for (var i = first; i < last; i = i + 1) {');
  L.push(`        let p = exp2(${dotRow('k', 'qTile', `i * ${D4}`, D4)} - lTile[i]);`);
  for (const c of range(V4)) L.push(`        dv${c} = fma(vec4<f32>(p), gTile[i * ${V4} + ${c}], dv${c});`);
  L.push(`        let ds = p * ((${dotRow('v', 'gTile', `i * ${V4}`, V4)}) - dTile[i]);`);
  for (const c of range(D4)) L.push(`        dk${c} = fma(vec4<f32>(ds), qTile[i * ${D4} + ${c}], dk${c});`);
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('  if (live) {');
  // qTile holds q·scale·log2 e, so Σ ds·qTile = scale·log2 e · Σ ds·q: multiply by ln 2 for dK = scale · Σ ds·q.
  for (const i of range(D4)) for (const c of range(4)) L.push(`    result[kBase + ${i * 4 + c}] = dk${i}[${c}] * ${Math.LN2};`);
  for (const i of range(V4)) for (const c of range(4)) L.push(`    result[uniforms.offset + vBase + ${i * 4 + c}] = dv${i}[${c}];`);
  L.push('  }');
  L.push('}');
  return L.join('\n');
}
