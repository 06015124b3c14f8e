// Staged keys for the general decode-attention shader (lib/backend/webgpu/kernels/decode-attention-wgsl.ts): lost,
// kept here (dev/README.md). Was MLA_WEBGPU_DECODE_STAGE=on: the body below replaced the shader's tileScores, and
// the shader declared `var<workgroup> kS : array<f32, 64 * STAGE_STRIDE>`; decodePlan carried `stage`, its key ended
// `_st`, and decode-attention.ts fell back to direct reads where 4 · (rowsPerBlock · (W + 67) + 64 · STAGE_STRIDE)
// bytes passed the device's maxComputeWorkgroupStorageSize (22,016 for the 35M absorbed rows).
// Measured (H100, 2026-12-07, data/bench/device/decode-stage-linear-2026-12-07-h100/): absorbed MLA's attention GPU
// ms per step, general against staged: batch 1 at 512 and 8k 2.16 / 1.96 and 3.56 / 3.19, batch 16 at 4k 6.31 /
// 5.97, at 32k 18.41 / 37.19, batch 64 at 8k 18.41 / 37.40: twice as slow where the cache is long (23 barriers per
// 64-key tile, two warps a workgroup). Its simulator tests passed (the reference, unroll 1 and 4, every case of
// test/attention/decode-attention.test.ts) and decode-check was ok on Dawn.
// Not compiled (tsconfig includes lib/, cli/ and test/ only); `range`, `width` and BC are the shader file's.
import type { DecodePlan } from './decode-attention-wgsl';

/** Dims of a staged key chunk, and its row stride in workgroup memory (one more: thread r's reads fall in different banks). */
export const STAGE_DIMS = 32;
const STAGE_STRIDE = STAGE_DIMS + 1;
declare const BC: number;
declare function range(n: number): number[];
declare function width(p: DecodePlan): number;

/**
 * The same scores with the keys staged: for each term, STAGE_DIMS dims of the tile's 64 keys at a time go to kS, a
 * warp loading 32 adjacent floats of one key, then thread r adds its key's chunk against the block's queries. The
 * barriers stand outside `need` (uniform control flow), the loads and FMAs inside it. Keys past the cache's end read
 * its last row and keys past a row's position are masked, as in directScores.
 */
export function stagedScores(p: DecodePlan, offsets: number[]): string[] {
  const RB = p.rowsPerBlock;
  const W = width(p);
  const rows = range(RB);
  const L: string[] = ['    let key = k0 + r;'];
  for (const g of rows) L.push(`    var s${g} = 0.0;`);
  const chunks = p.terms.flatMap((t, i) => range(Math.ceil(t.d / STAGE_DIMS)).map((c) => ({ i, d: t.d, c0: c * STAGE_DIMS, w: Math.min(STAGE_DIMS, t.d - c * STAGE_DIMS) })));
  chunks.forEach(({ i, d, c0, w }, n) => {
    L.push(`    if (need) { // term ${i}, dims ${c0} .. ${c0 + w - 1}: element e = q·64 + r of the 64 × ${w} chunk is key e / ${w}, dim e mod ${w}`);
    L.push(`      for (var q = 0; q < ${w}; q = q + 1) {`);
    L.push(`        let e = q * ${BC} + r;`);
    L.push(`        let kk = fa_div(e, ${w});`);
    L.push(`        let cc = e - kk * ${w};`);
    L.push(`        kS[kk * ${STAGE_STRIDE} + cc] = K${i}[k${i}Base + min(k0 + kk, uniforms.keys - 1) * ${d} + ${c0} + cc];`);
    L.push('      }');
    L.push('    }');
    L.push('    workgroupBarrier();');
    L.push('    if (need) {');
    L.push(`      for (var c = 0; c < ${w}; c = c + 1) {`);
    L.push(`        let kv = kS[r * ${STAGE_STRIDE} + c];`);
    for (const g of rows) L.push(`        s${g} = fma(qTile[${g * W + offsets[i] + c0} + c], kv, s${g});`);
    L.push('      }');
    L.push('    }');
    // The next chunk overwrites kS: every thread must have read this one (the last chunk's reads end before the
    // next tile's loads, which follow the loop's first barrier).
    if (n < chunks.length - 1) L.push('    workgroupBarrier();');
  });
  L.push('    if (need) {');
  for (const g of rows) L.push(`      sTile[${g * BC} + r] = select(-1e30, s${g}, key <= last${g});`);
  L.push('    }');
  return L;
}

