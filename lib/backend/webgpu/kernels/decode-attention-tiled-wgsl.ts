// The decode attention's tiled shader: the same op and the same (row block, head, batch) workgroups as
// decode-attention-wgsl.ts, for blocks of many rows that read one key row each (absorbed MLA: all 16 heads of a
// step against one latent cache). There, thread j scores key j against every row, reading the key straight from
// global memory: 64 threads read 64 rows 1.4 KB apart (no two in one cache line) and every query element comes
// from workgroup memory once per multiply, so the scores run at a few TFLOP/s and each row block of 8 streams the
// cache again. Here one workgroup of 128 threads takes 16 rows, and the scores are a small matrix product:
//   - the block's queries (×scale·log2 e, zero-padded to a multiple of 16 dims) wait in workgroup memory as vec4s;
//   - each 64-key tile is scored 16 dims at a time: the threads copy the keys' 16 dims into workgroup memory (key
//     rows contiguous in global memory, so consecutive threads read consecutive floats), then thread (w, lane) of
//     warp w accumulates rows 4w..4w+3 against keys lane and lane + 32 — 32 FMAs for 6 vec4 reads;
//   - 8 threads a row turn its 64 scores into probabilities (an online softmax in base 2, as the other shader);
//   - thread t adds the probability-weighted value rows into columns t, t + 128, … of all 16 rows (the value rows
//     read coalesced; for absorbed MLA they are the latent rows the tile just scored, so mostly cache hits).
// The 'piped' variant (MLA_WEBGPU_DECODE_SHADER=piped) pipelines the key chunks: each term padded to whole chunks on
// its own (so a chunk is one term's, and an element one load, not a select of every term's), the chunk copy double-
// buffered in workgroup memory with one barrier a chunk, and the next chunk's loads — past the tile's last chunk,
// the next tile's first — issued into registers before the current chunk's FMAs, so the loads' latency overlaps the
// scores instead of stalling every chunk between two barriers.
// The split pass (flash decoding) and its combine are decode-attention-wgsl.ts's, with the same partials layout.
// Loops that hold barriers run counts from the uniforms or constants only (WGSL's uniformity rule).
// Shape legend: as decode-attention-wgsl.ts; TR rows per workgroup (16), BC keys per tile (64), KC dims per chunk.
import type { DecodePlan } from './decode-attention-wgsl';
import { DECODE_HELPERS, decodeBlockLines, lastKeyOf } from './decode-attention-prologue';

/** Threads of the tiled shader's workgroup: 4 warps of 32 (the score tile's mapping assumes this). */
export const TILED_THREADS = 128;
/** Query rows per workgroup. */
export const TILED_ROWS = 16;
/** Keys per tile: the other shader's, so the split arithmetic is shared. */
const BC = 64;
/** Key dims per chunk copied to workgroup memory (4 vec4s). */
const KC = 16;
/** A chunk row's stride in vec4s: 4 and one of padding, so 8 threads' vec4 reads of 8 keys hit 32 distinct banks. */
const KROW = KC / 4 + 1;
/** Widest value row: 4 columns a thread × 16 rows = 64 running sums in registers. */
export const TILED_MAX_VALUE = 4 * TILED_THREADS;
/** Value rows whose loads are issued together in the value loop (the piped variant: the plan's unroll where > 1). */
const VALUE_UNROLL = 4;
const LOG_PARTS = 3;
/** Threads per row in the softmax: 8, each over 8 of the tile's 64 scores. */
const PARTS = 1 << LOG_PARTS;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** The query/key row padded to whole chunks. */
const paddedWidth = (w: number) => Math.ceil(w / KC) * KC;

/** The piped variant's query/key row: each term padded to whole chunks on its own. */
const pipedWidth = (ds: readonly number[]) => ds.reduce((s, d) => s + paddedWidth(d), 0);

/**
 * Bytes of workgroup memory the tiled shader declares for score terms of widths `ds`; `piped`: its pipelined
 * variant (terms padded apart, the key chunk double-buffered); `wide`: piped4 (piped, with two halves of the scores).
 */
export function tiledWorkgroupBytes(ds: readonly number[], piped = false, wide = false): number {
  const pipelined = piped || wide; // piped4 is piped's layout
  const wp = pipelined ? pipedWidth(ds) : paddedWidth(ds.reduce((s, d) => s + d, 0));
  const vec4s = TILED_ROWS * (wp / 4) + (pipelined ? 2 : 1) * BC * KROW + BC * (TILED_ROWS / 4); // qTile, kTile, pTile
  const floats = (wide ? 2 : 1) * TILED_ROWS * BC + 2 * TILED_THREADS + 3 * TILED_ROWS; // sTile (a half's each: piped4), redM/redL, cTile/mTile/lTile
  return vec4s * 16 + floats * 4;
}

/**
 * Whether the tiled shader (or its piped variant) takes a call of these dims within `storage` bytes of workgroup
 * memory: more than 8 rows (fewer would leave most of its 16 idle; the other shader blocks them 8 at a time), values
 * no wider than 512.
 */
export function tiledApplies(rows: number, ds: readonly number[], dv: number, storage: number, piped = false, wide = false): boolean {
  return rows > 8 && dv <= TILED_MAX_VALUE && tiledWorkgroupBytes(ds, piped, wide) <= storage;
}

/**
 * The tiled shader (plan shader 'tiled', or 'piped' for its pipelined variant); with `split`, the split pass (partials
 * instead of the normalized result), as decodeAttentionWgsl.
 */
export function decodeTiledWgsl(p: DecodePlan, split = false): string {
  if (p.rowsPerBlock !== TILED_ROWS) throw new RangeError(`decode attention: the tiled shader takes ${TILED_ROWS} rows a block, the plan has ${p.rowsPerBlock}`);
  // piped4: piped with a 4 × 4 score tile a thread (rows 4rg.., keys kg, kg + 16, kg + 32, kg + 48), each of a
  // thread pair taking half of every chunk's dims (8 FMAs a vec4 read of workgroup memory, not 5.3); the two halves'
  // partial scores meet in sTile.
  const wide = p.shader === 'piped4';
  const piped = p.shader === 'piped' || wide;
  const VU = piped && p.unroll > 1 ? p.unroll : VALUE_UNROLL;
  const T = TILED_THREADS;
  const TR = TILED_ROWS;
  const W = p.terms.reduce((s, t) => s + t.d, 0);
  const WP = piped ? pipedWidth(p.terms.map((t) => t.d)) : paddedWidth(W);
  const W4 = WP / 4;
  const CHUNKS = WP / KC;
  const DV = p.dv;
  const C = Math.ceil(DV / T);
  const rows = range(TR);
  const offsets = p.terms.map((_, i) => p.terms.slice(0, i).reduce((s, t) => s + t.d, 0));
  // Element `c` of key row `kc` of the concatenated terms (0 past the last term: the padding).
  const keyAt = (c: string, kc: string) =>
    p.terms.reduceRight((acc, t, i) => `select(${acc}, K${i}[k${i}Base + ${kc} * ${t.d} + clamp(${c} - ${offsets[i]}, 0, ${t.d - 1})], ${c} < ${offsets[i] + t.d})`, '0.0');
  const queryAt = (c: string, row: string) =>
    p.terms.reduceRight((acc, t, i) => `select(${acc}, Q${i}[(qHead * uniforms.rows + ${row}) * ${t.d} + clamp(${c} - ${offsets[i]}, 0, ${t.d - 1})], ${c} < ${offsets[i] + t.d})`, '0.0');
  // The piped layout: term i at padded offset po[i], chunks cs[i] .. cs[i + 1] − 1.
  const po = p.terms.map((_, i) => p.terms.slice(0, i).reduce((s, t) => s + paddedWidth(t.d), 0));
  const cs = [...po.map((o) => o / KC), CHUNKS];
  /** Lines: `then(i)` for the term i whose padded span holds `at`, an if/else on the spans (one term: a bare block). */
  const byTerm = (at: string, spanEnd: (i: number) => number, then: (i: number) => string[], pad: string) => {
    const out: string[] = [];
    p.terms.forEach((_, i) => {
      const last = i === p.terms.length - 1;
      out.push(`${pad}${i === 0 ? '' : '} else '}${last ? '{' : `if (${at} < ${spanEnd(i)}) {`}`);
      out.push(...then(i).map((x) => `${pad}  ${x}`));
    });
    out.push(`${pad}}`);
    return out;
  };
  const L: string[] = [
    ...DECODE_HELPERS,
    `var<workgroup> qTile : array<vec4<f32>, ${TR * W4}>; // the block's query rows × scale·log2(e), zero-padded: row g at g·${W4}`,
    `var<workgroup> kTile : array<vec4<f32>, ${(piped ? 2 : 1) * BC * KROW}>; // a chunk of ${KC} dims of the tile's keys: key j at j·${KROW}${piped ? ` (two: chunk c in half c mod 2)` : ''}`,
    `var<workgroup> sTile : array<f32, ${(wide ? 2 : 1) * TR * BC}>; // the tile's scores, row g at g·${BC}${wide ? ` (half h's at h·${TR * BC}: their sum is the score)` : ''}`,
    `var<workgroup> pTile : array<vec4<f32>, ${BC * (TR / 4)}>; // its probabilities, key j's rows 4i..4i+3 at j·${TR / 4} + i`,
    `var<workgroup> redM : array<f32, ${T}>; // each thread's max over its 8 scores`,
    `var<workgroup> redL : array<f32, ${T}>; // and its sum of their probabilities`,
    `var<workgroup> cTile : array<f32, ${TR}>; // each row's rescale of its running sums for the tile`,
    `var<workgroup> mTile : array<f32, ${TR}>; // each row's running max (base 2)`,
    `var<workgroup> lTile : array<f32, ${TR}>; // and its running sum, at the end`,
    'fn main() {',
    '  let t = i32(localId.x);',
    '  let w = t >> 5u; // warp: score rows 4w .. 4w + 3',
    '  let lane = t & 31; // score keys lane and lane + 32',
    ...(wide ? ['  let h = t >> 6u; // piped4: this thread\'s half of every chunk\'s dims', '  let rg = (t & 63) >> 4u; // its score rows 4rg .. 4rg + 3', '  let kg = t & 15; // its keys kg, kg + 16, kg + 32, kg + 48'] : []),
    `  let sRow = t >> ${LOG_PARTS}u; // softmax row`,
    `  let part = t & ${PARTS - 1}; // and which 8 of its scores`,
    '  let b = i32(workgroupId.z);',
    ...decodeBlockLines(p, split, TR),
  ];
  L.push(`  var blockLast = -1;`);
  L.push(`  for (var g = 0; g < ${TR}; g = g + 1) { blockLast = max(blockLast, ${lastKeyOf('first + g')}); }`);
  const scoreRow = wide ? 'rg' : 'w';
  for (const g of range(4)) L.push(`  let last${g} = ${lastKeyOf(`first + 4 * ${scoreRow} + ${g}`)}; // score row 4${scoreRow} + ${g}'s last key`);
  L.push(`  for (var e = t; e < ${TR * WP}; e = e + ${T}) {`);
  L.push(`    let g = fa_div(e, ${WP});`);
  L.push(`    let c = e - g * ${WP};`);
  L.push('    let row = min(first + g, uniforms.rows - 1); // rows past the last are scored and never written');
  if (piped) {
    L.push('    var qv = 0.0; // the padding: 0');
    L.push(...byTerm('c', (i) => po[i] + paddedWidth(p.terms[i].d), (i) => [
      `let ci = c - ${po[i]};`,
      `if (ci < ${p.terms[i].d}) { qv = Q${i}[(qHead * uniforms.rows + row) * ${p.terms[i].d} + ci]; }`,
    ], '    '));
    L.push('    qTile[e >> 2u][e & 3] = qv * uniforms.qScale;');
  } else {
    L.push(`    qTile[e >> 2u][e & 3] = ${queryAt('c', 'row')} * uniforms.qScale;`);
  }
  L.push('  }');
  L.push(`  if (t < ${TR}) { mTile[t] = -1e30; }`);
  L.push('  var l = 0.0; // softmax row sRow\'s running sum (kept by its part 0)');
  for (const k of range(C)) L.push(`  let col${k} = min(t + ${k * T}, ${DV - 1}); // a value column this thread owns (clamped for loads)`);
  for (const g of rows) for (const k of range(C)) L.push(`  var o${g}_${k} = 0.0;`);
  L.push('  for (var it = 0; it < kbCount; it = it + 1) { // uniform bounds: the barriers below need them');
  L.push('    let kb = kbFirst + it;');
  L.push(`    let k0 = kb * ${BC};`);
  L.push('    let need = kb < kbEnd && k0 <= blockLast;');
  const KJ = wide ? 4 : 2; // keys a thread scores
  for (const g of range(4)) for (const j of range(KJ)) L.push(`    var s${g}_${j} = 0.0;`);
  const loads = range((BC * KC) / T);
  // The score FMAs of one chunk from kTile at vec4 offset `buf`: rows 4w..4w+3 against keys lane and lane + 32.
  const chunkFmas = (buf: string) => {
    const F: string[] = [];
    if (wide) {
      // Half h of the chunk: its vec4s 2h and 2h + 1; rows 4rg.. against keys kg + 16j.
      for (const v of range(KC / 8)) {
        for (const j of range(4)) F.push(`        let k${j}_${v} = kTile[${buf}(kg + ${16 * j}) * ${KROW} + 2 * h + ${v}];`);
        for (const g of range(4)) {
          F.push(`        let q${g}_${v} = qTile[(4 * rg + ${g}) * ${W4} + ch * ${KC / 4} + 2 * h + ${v}];`);
          for (const j of range(4)) for (const x of ['x', 'y', 'z', 'w']) F.push(`        s${g}_${j} = fma(q${g}_${v}.${x}, k${j}_${v}.${x}, s${g}_${j});`);
        }
      }
      return F;
    }
    for (const v of range(KC / 4)) {
      F.push(`        let ka${v} = kTile[${buf}lane * ${KROW} + ${v}];`);
      F.push(`        let kb${v} = kTile[${buf}(lane + 32) * ${KROW} + ${v}];`);
      for (const g of range(4)) {
        F.push(`        let q${g}_${v} = qTile[(4 * w + ${g}) * ${W4} + ch * ${KC / 4} + ${v}];`);
        for (const [j, kv] of [`ka${v}`, `kb${v}`].entries()) {
          for (const x of ['x', 'y', 'z', 'w']) F.push(`        s${g}_${j} = fma(q${g}_${v}.${x}, ${kv}.${x}, s${g}_${j});`);
        }
      }
    }
    return F;
  };
  if (piped) {
    // Chunk `ch` of the keys from `k0` into pf0..: dim kd of keys j0.. of one term (zeros in its padding).
    const chunkLoads = (ch: string, k0: string, pad: string) => [
      ...loads.map((i) => `${pad}pf${i} = 0.0;`),
      ...byTerm(ch, (i) => cs[i + 1], (i) => [
        `let c = (${ch} - ${cs[i]}) * ${KC} + kd;`,
        `if (c < ${p.terms[i].d}) {`,
        ...loads.map((j) => `  pf${j} = K${i}[k${i}Base + min(${k0} + j${j}, uniforms.keys - 1) * ${p.terms[i].d} + c];`),
        '}',
      ], pad),
    ];
    L.splice(L.indexOf('  for (var it = 0; it < kbCount; it = it + 1) { // uniform bounds: the barriers below need them'), 0,
      `  let kd = t & ${KC - 1}; // the key dim this thread copies`,
      ...loads.map((i) => `  let j${i} = (t >> ${Math.log2(KC)}u) + ${(i * T) / KC}; // and its keys`),
      ...loads.map((i) => `  var pf${i} = 0.0;`),
      `  if (kbFirst < kbEnd && kbFirst * ${BC} <= blockLast) { // the first tile's first chunk`,
      ...chunkLoads('0', `kbFirst * ${BC}`, '    '),
      '  }',
    );
    L.push(`    for (var ch = 0; ch < ${CHUNKS}; ch = ch + 1) {`);
    L.push(`      let kBuf = (ch & 1) * ${BC * KROW}; // this chunk's half of kTile`);
    L.push('      if (need) {');
    for (const i of loads) L.push(`        kTile[kBuf + j${i} * ${KROW} + (kd >> 2u)][kd & 3] = pf${i};`);
    L.push('      }');
    L.push('      workgroupBarrier(); // one a chunk: the other half is the one the threads may still read');
    L.push(`      if (ch + 1 < ${CHUNKS}) {`);
    L.push('        if (need) {');
    L.push(...chunkLoads('ch + 1', 'k0', '          '));
    L.push('        }');
    L.push('      } else {');
    L.push(`        let nk = kb + 1; // the next tile's first chunk, in flight through this chunk, the softmax and the values`);
    L.push(`        if (nk < kbEnd && nk * ${BC} <= blockLast) {`);
    L.push(...chunkLoads('0', `nk * ${BC}`, '          '));
    L.push('        }');
    L.push('      }');
    L.push('      if (need) {');
    L.push(...chunkFmas('kBuf + '));
    L.push('      }');
    L.push('    }');
  } else {
    L.push(`    for (var ch = 0; ch < ${CHUNKS}; ch = ch + 1) {`);
    L.push('      workgroupBarrier();');
    L.push('      if (need) {');
    // Element e = t + ${T}·i of the chunk is key e / KC's dim e mod KC (a key's dims by consecutive threads): every
    // load first, then the stores.
    L.push(`        let d = t & ${KC - 1};`);
    L.push(`        let c = ch * ${KC} + d;`);
    for (const i of loads) {
      L.push(`        let j${i} = (t >> ${Math.log2(KC)}u) + ${(i * T) / KC};`);
      L.push(`        let e${i} = ${keyAt('c', `min(k0 + j${i}, uniforms.keys - 1)`)};`);
    }
    for (const i of loads) L.push(`        kTile[j${i} * ${KROW} + (d >> 2u)][d & 3] = e${i};`);
    L.push('      }');
    L.push('      workgroupBarrier();');
    L.push('      if (need) {');
    L.push(...chunkFmas(''));
    L.push('      }');
    L.push('    }');
  }
  L.push('    if (need) {');
  for (const g of range(4)) {
    for (const j of range(KJ)) {
      if (wide) L.push(`      sTile[h * ${TR * BC} + (4 * rg + ${g}) * ${BC} + kg + ${16 * j}] = select(-1e30, s${g}_${j}, k0 + kg + ${16 * j} <= last${g});`);
      else L.push(`      sTile[(4 * w + ${g}) * ${BC} + lane + ${32 * j}] = select(-1e30, s${g}_${j}, k0 + lane + ${32 * j} <= last${g});`);
    }
  }
  L.push('    }');
  // A score as the softmax reads it: piped4's two halves summed (a masked key is −2e30 there, still < −1e29).
  const scoreAt = (i: string) => (wide ? `(sTile[${i}] + sTile[${TR * BC} + ${i}])` : `sTile[${i}]`);
  L.push('    workgroupBarrier();');
  L.push(`    let sAt = sRow * ${BC} + part * ${BC / PARTS};`);
  L.push('    var mx = -1e30;');
  L.push('    if (need) {');
  L.push(`      for (var i = 0; i < ${BC / PARTS}; i = i + 1) { mx = max(mx, ${scoreAt('sAt + i')}); }`);
  L.push('      redM[t] = mx;');
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) {');
  L.push('      let mOld = mTile[sRow];');
  L.push('      mx = mOld;');
  L.push(`      for (var i = 0; i < ${PARTS}; i = i + 1) { mx = max(mx, redM[sRow * ${PARTS} + i]); }`);
  L.push('      var sum = 0.0;');
  L.push(`      for (var i = 0; i < ${BC / PARTS}; i = i + 1) {`);
  L.push(`        let sv = ${scoreAt('sAt + i')};`);
  L.push('        let pv = select(0.0, exp2(sv - mx), sv > -1e29); // a masked key is 0, also in a row with no key yet');
  L.push(`        pTile[(part * ${BC / PARTS} + i) * ${TR / 4} + (sRow >> 2u)][sRow & 3] = pv;`);
  L.push('        sum = sum + pv;');
  L.push('      }');
  L.push('      redL[t] = sum;');
  L.push('      if (part == 0) { cTile[sRow] = exp2(mOld - mx); }');
  L.push('    }');
  L.push('    workgroupBarrier();');
  L.push('    if (need) {');
  L.push('      if (part == 0) {');
  L.push('        var tileSum = 0.0;');
  L.push(`        for (var i = 0; i < ${PARTS}; i = i + 1) { tileSum = tileSum + redL[t + i]; }`);
  L.push('        l = l * cTile[sRow] + tileSum;');
  L.push('        mTile[sRow] = mx; // read again only after the next tile\'s barriers');
  L.push('      }');
  for (const g of rows) {
    L.push(`      let corr${g} = cTile[${g}];`);
    for (const k of range(C)) L.push(`      o${g}_${k} = o${g}_${k} * corr${g};`);
  }
  L.push(`      let n = min(${BC}, blockLast + 1 - k0);`);
  // The tile's value rows VU at a time, every load before the FMAs (so VU·C loads are in flight, not one key's C),
  // then the last n mod VU one at a time.
  const valueStep = (u: number, j: string) => {
    const V4: string[] = [];
    for (const k of range(C)) V4.push(`        let v${u}_${k} = V[vBase + (k0 + ${j}) * ${DV} + col${k}];`);
    return V4;
  };
  const valueFmas = (u: number, j: string) => {
    const F: string[] = [];
    for (const i of range(TR / 4)) {
      F.push(`        let p${u}_${i} = pTile[(${j}) * ${TR / 4} + ${i}];`);
      for (const [x, comp] of ['x', 'y', 'z', 'w'].entries()) {
        for (const k of range(C)) F.push(`        o${4 * i + x}_${k} = fma(p${u}_${i}.${comp}, v${u}_${k}, o${4 * i + x}_${k});`);
      }
    }
    return F;
  };
  L.push(`      let nFull = n - fa_mod(n, ${VU});`);
  L.push(`      for (var j = 0; j < nFull; j = j + ${VU}) {`);
  for (const u of range(VU)) L.push(...valueStep(u, `j + ${u}`));
  for (const u of range(VU)) L.push(...valueFmas(u, `j + ${u}`));
  L.push('      }');
  L.push('      for (var j = nFull; j < n; j = j + 1) {');
  L.push(...valueStep(0, 'j'), ...valueFmas(0, 'j'));
  L.push('      }');
  L.push('    }');
  L.push('  }');
  L.push('  workgroupBarrier();');
  L.push(`  if (part == 0) { lTile[sRow] = l; }`);
  L.push('  workgroupBarrier();');
  const store = (g: number, at: string, scale: string) => {
    for (const k of range(C)) {
      const col = k * T;
      const s = `result[${at} + t + ${col}] = o${g}_${k}${scale};`;
      L.push(col + T <= DV ? `    ${s}` : `    if (t + ${col} < ${DV}) { ${s} }`);
    }
  };
  if (split) {
    const PW = DV + 2; // decode-attention-wgsl.ts's partialWidth: the sums, the running max, the running sum
    for (const g of rows) {
      L.push(`  if (first + ${g} < uniforms.rows) {`);
      L.push(`    let pAt${g} = ((qHead * uniforms.rows + first + ${g}) * uniforms.maxSplits + sp) * ${PW};`);
      store(g, `pAt${g}`, '');
      L.push(`    if (t == 0) { result[pAt${g} + ${DV}] = mTile[${g}]; result[pAt${g} + ${DV + 1}] = lTile[${g}]; }`);
      L.push('  }');
    }
  } else {
    for (const g of rows) {
      L.push(`  if (first + ${g} < uniforms.rows) {`);
      L.push(`    let inv${g} = 1.0 / lTile[${g}];`);
      L.push(`    let out${g} = (qHead * uniforms.rows + first + ${g}) * ${DV};`);
      store(g, `out${g}`, ` * inv${g}`);
      L.push('  }');
    }
  }
  L.push('}');
  return L.join('\n');
}
