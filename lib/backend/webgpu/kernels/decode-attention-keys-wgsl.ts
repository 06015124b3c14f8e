// The decode attention's key-parallel shader: the same op, plans, splits and partials as decode-attention-wgsl.ts,
// for heads of one or two query rows against their own keys (MHA, MLA's full and latent modes at Tq = 1). There,
// 64 threads score one 64-key tile together, then share its probabilities through workgroup memory and each adds
// them into one value column: with 32 value columns half the threads idle, and every tile costs three barriers and
// a chain of 64 dependent steps. Here each thread owns keys of its own, KPT consecutive ones every 64·KPT, keeps
// its own online softmax over them (running max, sum, and every value column of its rows in registers) with no
// barrier inside the loop, and the 64 threads' states are merged once at the end: the running maxima through
// workgroup memory, then the value sums column by column.
// Shape legend: as decode-attention-wgsl.ts; T threads, KPT keys a thread per step, RB rows per workgroup.
import type { DecodePlan } from './decode-attention-wgsl';
import { DECODE_HELPERS, decodeBlockLines, decodeRowLines } from './decode-attention-prologue';

/** Threads per workgroup. */
export const KEYS_THREADS = 64;
/** Keys a thread scores per step (one rescale of its sums per step). */
const KPT = 4;
/** Key dims per step of the score loop, their KPT·CU loads issued first. */
const CU = 4;
/** Running value sums per thread (rows × value columns) kept in registers. */
const KEYS_SUMS = 64;
/** Keys per tile of the split arithmetic (decode-attention-wgsl.ts's): each split is whole tiles. */
const BC = 64;

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Rows per workgroup: every row of the head when rows · dv fit the registers, else 0 (the shader does not apply). */
export function keysRowsPerBlock(rows: number, dv: number): number {
  return rows >= 1 && rows * dv <= KEYS_SUMS ? rows : 0;
}

/** Whether the key-parallel shader takes heads of `rows` rows and `dv` value columns. */
export function keysApplies(rows: number, dv: number): boolean {
  return rows <= 2 && keysRowsPerBlock(rows, dv) > 0;
}

/** The shader; with `split`, the split pass (partials of decode-attention-wgsl.ts's layout, not the result). */
export function decodeKeysWgsl(p: DecodePlan, split = false): string {
  const RB = p.rowsPerBlock;
  if (RB < 1 || RB * p.dv > KEYS_SUMS) throw new RangeError(`decode attention: the key-parallel shader takes ${KEYS_SUMS} value sums a thread, not ${RB}·${p.dv}`);
  const T = KEYS_THREADS;
  const DV = p.dv;
  const W = p.terms.reduce((s, t) => s + t.d, 0);
  const rows = range(RB);
  const ks = range(KPT);
  const offsets = p.terms.map((_, i) => p.terms.slice(0, i).reduce((s, t) => s + t.d, 0));
  const L: string[] = [
    ...DECODE_HELPERS,
    `var<workgroup> qTile : array<f32, ${RB * W}>; // the block's query rows × scale·log2(e)`,
    `var<workgroup> mAll : array<f32, ${RB * T}>; // every thread's running max per row, then`,
    `var<workgroup> lAll : array<f32, ${RB * T}>; // its running sum, rescaled to the block's max`,
    `var<workgroup> oAll : array<f32, ${T * DV}>; // one row's value sums of every thread, rescaled likewise`,
    'fn main() {',
    '  let t = i32(localId.x);',
    '  let b = i32(workgroupId.z);',
    ...decodeBlockLines(p, split, RB),
    `  let kFirst = kbFirst * ${BC}; // this split's keys (whole tiles)`,
    `  let kEnd0 = kbEnd * ${BC};`,
    ...decodeRowLines(RB),
  ];
  L.push('  let kEnd = min(kEnd0, min(blockLast + 1, uniforms.keys)); // past the last position, no key is read');
  L.push(`  for (var e = t; e < ${RB * W}; e = e + ${T}) {`);
  L.push(`    let g = fa_div(e, ${W});`);
  L.push(`    let c = e - g * ${W};`);
  L.push('    let row = min(first + g, uniforms.rows - 1);');
  L.push('    var val = 0.0;');
  p.terms.forEach((t, i) => {
    L.push(`    if (c >= ${offsets[i]} && c < ${offsets[i] + t.d}) { val = Q${i}[(qHead * uniforms.rows + row) * ${t.d} + c - ${offsets[i]}]; }`);
  });
  L.push('    qTile[e] = val * uniforms.qScale;');
  L.push('  }');
  L.push('  workgroupBarrier();');
  for (const g of rows) {
    L.push(`  var m${g} = -1e30; // this thread's running max of row ${g} (base 2)`);
    L.push(`  var l${g} = 0.0;`);
    for (const c of range(DV)) L.push(`  var o${g}_${c} = 0.0;`);
  }
  L.push(`  for (var k = kFirst + t * ${KPT}; k < kEnd; k = k + ${T * KPT}) { // keys k .. k + ${KPT - 1}, no barrier inside`);
  for (const u of ks) {
    L.push(`    let kc${u} = min(k + ${u}, kEnd - 1);`);
    for (const g of rows) L.push(`    var s${g}_${u} = 0.0;`);
  }
  // Each term's dims CU at a time (KPT·CU loads in flight before their FMAs), the last d mod CU one at a time.
  p.terms.forEach((t, i) => {
    const dims = (c: string, cs: number[]) => {
      for (const x of cs) for (const u of ks) L.push(`      let kv${u}_${x} = K${i}[k${i}Base + kc${u} * ${t.d} + ${c} + ${x}];`);
      for (const x of cs) {
        for (const g of rows) {
          L.push(`      let q${g}_${x} = qTile[${g * W + offsets[i]} + ${c} + ${x}];`);
          for (const u of ks) L.push(`      s${g}_${u} = fma(q${g}_${x}, kv${u}_${x}, s${g}_${u});`);
        }
      }
    };
    const full = t.d - (t.d % CU);
    if (full > 0) {
      L.push(`    for (var c = 0; c < ${full}; c = c + ${CU}) {`);
      dims('c', range(CU));
      L.push('    }');
    }
    if (full < t.d) {
      L.push(`    for (var c = ${full}; c < ${t.d}; c = c + 1) {`);
      dims('c', [0]);
      L.push('    }');
    }
  });
  for (const g of rows) {
    // Masked: past the row's position, or a clamped duplicate past kEnd.
    for (const u of ks) L.push(`    let sm${g}_${u} = select(-1e30, s${g}_${u}, k + ${u} <= last${g} && k + ${u} < kEnd);`);
    L.push(`    let mx${g} = ${ks.reduce((acc, u) => `max(${acc}, sm${g}_${u})`, `m${g}`)};`);
    L.push(`    let corr${g} = exp2(m${g} - mx${g});`);
    for (const u of ks) L.push(`    let p${g}_${u} = select(0.0, exp2(sm${g}_${u} - mx${g}), sm${g}_${u} > -1e29);`);
    L.push(`    l${g} = l${g} * corr${g} + ${ks.map((u) => `p${g}_${u}`).join(' + ')};`);
    L.push(`    m${g} = mx${g};`);
  }
  for (const u of ks) L.push(`    let vRow${u} = vBase + kc${u} * ${DV};`);
  for (const c of range(DV)) {
    L.push(`    {`);
    for (const u of ks) L.push(`      let v${u} = V[vRow${u} + ${c}];`);
    for (const g of rows) L.push(`      o${g}_${c} = ${ks.reduce((acc, u) => `fma(p${g}_${u}, v${u}, ${acc})`, `o${g}_${c} * corr${g}`)};`);
    L.push('    }');
  }
  L.push('  }');
  // Merge the threads' states: the block's max per row, each thread's sums rescaled to it, then summed.
  for (const g of rows) L.push(`  mAll[${g * T} + t] = m${g};`);
  L.push('  workgroupBarrier();');
  for (const g of rows) {
    L.push(`  var mB${g} = -1e30;`);
    L.push(`  for (var i = 0; i < ${T}; i = i + 1) { mB${g} = max(mB${g}, mAll[${g * T} + i]); }`);
    L.push(`  let f${g} = exp2(m${g} - mB${g});`);
    L.push(`  lAll[${g * T} + t] = l${g} * f${g};`);
  }
  const PW = DV + 2; // decode-attention-wgsl.ts's partialWidth
  for (const g of rows) {
    L.push('  workgroupBarrier();');
    for (const c of range(DV)) L.push(`  oAll[t * ${DV} + ${c}] = o${g}_${c} * f${g};`);
    L.push('  workgroupBarrier();');
    L.push(`  if (t < ${DV} && row${g} < uniforms.rows) {`);
    L.push('    var sum = 0.0;');
    L.push('    var den = 0.0;');
    L.push(`    for (var i = 0; i < ${T}; i = i + 1) { sum = sum + oAll[i * ${DV} + t]; den = den + lAll[${g * T} + i]; }`);
    if (split) {
      L.push(`    let pAt = ((qHead * uniforms.rows + row${g}) * uniforms.maxSplits + sp) * ${PW};`);
      L.push('    result[pAt + t] = sum;');
      L.push(`    if (t == 0) { result[pAt + ${DV}] = mB${g}; result[pAt + ${DV + 1}] = den; }`);
    } else {
      L.push(`    result[(qHead * uniforms.rows + row${g}) * ${DV} + t] = sum / den;`);
    }
    L.push('  }');
  }
  L.push('}');
  return L.join('\n');
}
