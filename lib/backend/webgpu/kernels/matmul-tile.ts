// What the staged tiled matmul shader (matmul.ts) and its pipelined variant (matmul-pipelined.ts)
// share: the stage depth, the workgroup shape, and where a workgroup's tile and K slice lie, so that one plan and
// one dispatch fit both.

/** K per stage through workgroup memory. */
export const DEPTH = 16;
/** Threads per side of the 16 × 16 workgroup. */
export const THREADS = 16;

/**
 * The start of fn main(): thread ids, the batch and K slice of workgroup z (batch·splits + slice), the tile's
 * first row and column, and each input's batch offset (0 for an input of batch 1, broadcast).
 */
export function tileOrigins(tileM: number, tileN: number): string[] {
  return [
    'fn main() {',
    '  let tx = i32(localId.x);',
    '  let ty = i32(localId.y);',
    `  let tid = ty * ${THREADS} + tx;`,
    '  let z = i32(workgroupId.z); // uniform per workgroup (globalId is not, and the K loop holds barriers)',
    '  let batch = z / uniforms.splits;',
    '  let kStart = (z - batch * uniforms.splits) * uniforms.kPerSplit;',
    '  let kEnd = min(uniforms.dimK, kStart + uniforms.kPerSplit);',
    `  let row0 = i32(workgroupId.y) * ${tileM};`,
    `  let col0 = i32(workgroupId.x) * ${tileN};`,
    '  let baseA = select(batch, 0, uniforms.batchA == 1) * uniforms.dimM * uniforms.dimK;',
    '  let baseB = select(batch, 0, uniforms.batchB == 1) * uniforms.dimK * uniforms.dimN;',
  ];
}
