// Writing new tokens into a preallocated decode cache in place: the buffer (B, X, capacity, W) keeps its
// storage and rows start .. start + t - 1 of the time axis (axis 2) are overwritten with add (B, X, t, W).
// tfjs tensors are immutable to ops, so an append through tf.concat copies the whole cache every step; here the
// cpu backend's own Float32Array/Int32Array is written, t·W elements per (B, X) row. Other backends return
// false (the caller appends by concat): a WebGPU write kernel is still to do (issue 13).
import * as tf from '@tensorflow/tfjs-core';

interface CpuData {
  data: { get(id: object): { values?: ArrayLike<number> & { set(a: ArrayLike<number>, o?: number): void } } };
  refCount(id: object): number;
}

/** Whether the active backend can write a cache buffer in place. */
export function inPlaceCacheWrites(): boolean {
  return tf.getBackend() === 'cpu';
}

/**
 * Writes add (B, X, t, W) into buf (B, X, capacity, W) at time rows start .. start + t - 1, in buf's own
 * storage. Returns false, writing nothing, where the backend cannot (then buf is unchanged).
 * buf must hold its data alone (refCount 1): a view sharing it would change too.
 */
export function writeTimeInPlace(buf: tf.Tensor, add: tf.Tensor, start: number): boolean {
  if (!inPlaceCacheWrites()) return false;
  const [B, X, cap, W] = buf.shape;
  const [bA, xA, t, wA] = add.shape;
  if (buf.rank !== 4 || add.rank !== 4 || bA !== B || xA !== X || wA !== W || buf.dtype !== add.dtype) {
    throw new Error(`cache write: (${add.shape}) ${add.dtype} into (${buf.shape}) ${buf.dtype}`);
  }
  if (start < 0 || start + t > cap) throw new RangeError(`cache write of ${t} rows at ${start} beyond capacity ${cap}`);
  const backend = tf.backend() as unknown as CpuData;
  if (backend.refCount(buf.dataId) > 1) throw new Error('cache write: the buffer shares its data; it cannot be written in place');
  const dst = backend.data.get(buf.dataId).values;
  if (!dst) return false;
  const src = add.dataSync() as unknown as Float32Array | Int32Array; // the cpu backend's own array: no copy
  const row = t * W;
  for (let r = 0; r < B * X; r++) dst.set(src.subarray(r * row, (r + 1) * row), (r * cap + start) * W);
  return true;
}
