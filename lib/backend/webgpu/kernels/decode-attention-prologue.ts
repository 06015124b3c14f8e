// The WGSL lines that the three decode-attention shaders (rows: decode-attention-wgsl.ts, tiled, key-parallel) open
// with: the integer helpers, which rows and which key tiles a workgroup takes, where its head's keys and values
// start, and each row's last key. One place, so that the shaders cannot disagree on the plan's layout.
// Shape legend: as decode-attention-wgsl.ts; RB rows per workgroup.
import type { DecodePlan } from './decode-attention-wgsl';

/** The integer helpers every decode shader uses (tfjs' own names are taken). */
export const DECODE_HELPERS: readonly string[] = [
  'fn fa_div(a : i32, b : i32) -> i32 { return a / b; }',
  'fn fa_mod(a : i32, b : i32) -> i32 { return a % b; }',
];

/**
 * The workgroup's rows [first, first + RB) and key tiles [kbFirst, kbEnd), with kbCount the uniform trip count of
 * the tile loop; then qHead (the (b, head) of the queries) and k·Base / vBase (where the head's key terms and values
 * start). With `split`, workgroup x = split · rowBlocks + row block, and the split streams tiles
 * [split · chunk, min((split + 1) · chunk, tiles)).
 */
export function decodeBlockLines(p: DecodePlan, split: boolean, RB: number): string[] {
  const L = split
    ? [
        "  let sp = fa_div(i32(workgroupId.x), uniforms.rowBlocks); // this workgroup's split",
        `  let first = (i32(workgroupId.x) - sp * uniforms.rowBlocks) * ${RB};`,
        "  let kbFirst = sp * uniforms.chunk; // this split's tiles",
        '  let kbEnd = min(kbFirst + uniforms.chunk, uniforms.tiles);',
        // tfjs copies the workgroup id into a private variable, which Tint's uniformity analysis takes as
        // non-uniform: a loop bound from it would put the barriers in non-uniform control flow. So the loop runs
        // the uniform `chunk` tiles, and those past kbEnd (the last split's) do nothing.
        '  let kbCount = uniforms.chunk;',
      ]
    : [`  let first = i32(workgroupId.x) * ${RB};`, '  let kbFirst = 0;', '  let kbEnd = uniforms.tiles;', '  let kbCount = uniforms.tiles;'];
  L.push('  let qHead = b * uniforms.heads + i32(workgroupId.y); // (b, head) of the queries, and of per-head keys and values');
  p.terms.forEach((t, i) => L.push(`  let k${i}Base = ${t.perHead ? 'qHead' : 'b'} * uniforms.keys * ${t.d};`));
  L.push(`  let vBase = ${p.valuesPerHead ? 'qHead' : 'b'} * uniforms.keys * ${p.dv};`);
  return L;
}

/** Row `row`'s last key (qStart + row mod Tq: causal within the step's queries), or -1 past the rows (no key, no output). */
export const lastKeyOf = (row: string) => `select(-1, uniforms.qStart + fa_mod(${row}, uniforms.queries), ${row} < uniforms.rows)`;

/** row0..row{RB-1}, their last keys last0.., and blockLast, the block's largest (after decodeBlockLines). */
export function decodeRowLines(RB: number): string[] {
  const L: string[] = [];
  for (let g = 0; g < RB; g++) {
    L.push(`  let row${g} = first + ${g};`);
    L.push(`  let last${g} = ${lastKeyOf(`row${g}`)}; // its last key; -1: no row`);
  }
  let acc = 'last0';
  for (let g = 1; g < RB; g++) acc = `max(${acc}, last${g})`;
  L.push(`  let blockLast = ${acc};`);
  return L;
}
