// Learned position embeddings added for a decode step: x (B, T, C) plus rows start .. start + T − 1 of the table
// (maxSeqLen, C). The reference is a tfjs slice and an add; a backend may register one kernel that reads the rows
// at a `start` uniform (lib/backend/webgpu/kernels/add-positions.ts), which a step graph can replay at later
// positions (a tfjs Slice's offset is not a position it knows about, so no-RoPE presets' steps were refused).
// Decoding only: no gradient (training adds the table's first T rows through the reference).
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';

/** Inputs x, table; attrs start; output like x. */
export const ADD_POSITIONS_KERNEL = 'MlaAddPositions';

export interface AddPositionsAttrs {
  start: number;
}

/** x (B, T, C) + table[start .. start + T) (T, C), broadcast over B. */
export function addPositionsReference(x: tf.Tensor3D, table: tf.Tensor2D, start: number): tf.Tensor3D {
  const [, T, C] = x.shape;
  return tf.add(x, tf.slice(table, [start, 0], [T, C])) as tf.Tensor3D; // (T, C) rows broadcast over B
}

/** addPositionsReference as the backend's one kernel where it has one. */
export function addPositions(x: tf.Tensor3D, table: tf.Tensor2D, start: number): tf.Tensor3D {
  const [, T, C] = x.shape;
  if (table.shape[1] !== C) throw new RangeError(`add positions: the table's rows are ${table.shape[1]} wide, x's ${C}`);
  if (start < 0 || start + T > table.shape[0]) throw new RangeError(`add positions: rows ${start} .. ${start + T - 1} are outside the table's ${table.shape[0]}`);
  if (!hasKernel(ADD_POSITIONS_KERNEL)) return addPositionsReference(x, table, start);
  return tf.engine().runKernel(ADD_POSITIONS_KERNEL, { x, table }, { start } satisfies AddPositionsAttrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}
