// How many times a tensor's storage was written in place, for memos of values derived from tensors. tfjs gives a
// tensor whose storage is replaced a new dataId (Variable.assign does), but a kernel that rewrites a buffer
// keeps it: the in-place AdamW of adamw.ts and the cache write of cache-write.ts bump the count here, so
// (dataId, version) names a tensor's contents and a memo keyed by it can never be served stale.
import type * as tf from '@tensorflow/tfjs-core';

const versions = new WeakMap<object, number>();

/** In-place writes into t's storage so far (0 for storage never written in place). */
export function dataVersion(t: tf.TensorInfo): number {
  return versions.get(t.dataId) ?? 0;
}

/** Records one in-place write into t's storage (every tensor sharing that storage sees it). */
export function markWritten(t: tf.TensorInfo): void {
  versions.set(t.dataId, dataVersion(t) + 1);
}

/** What a memo keys a source tensor by: its storage and that storage's write count. */
export interface ContentsKey {
  dataId: object;
  version: number;
}

export function contentsKey(t: tf.TensorInfo): ContentsKey {
  return { dataId: t.dataId, version: dataVersion(t) };
}

export function sameContents(t: tf.TensorInfo, key: ContentsKey): boolean {
  return t.dataId === key.dataId && dataVersion(t) === key.version;
}
