// A bound on tfjs-backend-webgpu's pool of freed buffers. tfjs keeps every buffer a disposed tensor frees, keyed by
// (size, usage), and hands it out again only for that exact key; nothing ever leaves the pool. When the sizes keep
// changing — a prefill in pieces re-expands a cache that grows by a piece each time, a benchmark walks contexts and
// cache modes — the pool grows by a new buffer each time until the GPU's memory is gone (on the H200, batch 16 ×
// 16k absorbed decoding: VK_ERROR_OUT_OF_DEVICE_MEMORY, data/bench/device/decode-grid-2026-12-03-h200/). Here a
// release that would take the pool past the cap first destroys pooled buffers of other keys, largest first, and
// destroys the released buffer itself when that is not enough. WebGPU defers a destroyed buffer's memory until
// the work already submitted with it is done, so destroying a pooled buffer is safe.
// Also, a large buffer (LARGE_ONCE_BYTES and up) pools only once its size has been asked for again after a buffer
// of that size was released; before that it is destroyed on release. A decode's cache grows by a new, larger buffer
// each time and never asks for the old size again, so pooling the old one only holds memory. Counting requests is
// not enough: the 16 caches of an 8-layer MHA (K and V) share one size, asked 16 times before any is released, and
// were all pooled: with a 48 GiB cap, the likely reason batch 16 × 32k MHA (a 16 GiB cache and its growth copies
// after the pooled caches of the shorter contexts) failed on the H100's 80 GB, 2026-12-07 (not yet rerun there). A training step's activations are released,
// then asked for again the next step: from the second step on they pool as before.

import * as tf from '@tensorflow/tfjs-core';

/** What the bound needs of tfjs-backend-webgpu's BufferManager (its fields as that class names them). */
export interface PooledBufferManager {
  freeBuffers: Map<string, { size: number; destroy(): void }[]>;
  numFreeBuffers: number;
  numBytesUsed: number;
  numBytesAllocated: number;
  releaseBuffer(buffer: { size: number; usage: number; destroy(): void }, reuse?: boolean): void;
  /** tfjs's acquire (size, usage, mappedAtCreation, reuse): counted per key where the manager has it. */
  acquireBuffer?(size: number, usage: number, ...rest: unknown[]): unknown;
}

/** The smallest buffer destroyed on release while its size has not been asked for again since a release (see the header). */
export const LARGE_ONCE_BYTES = 256 * 2 ** 20;

/** Bytes the pool holds: allocated but not in use. */
export function pooledBytes(m: Pick<PooledBufferManager, 'numBytesAllocated' | 'numBytesUsed'>): number {
  return m.numBytesAllocated - m.numBytesUsed;
}

/** Destroys pooled buffers of keys other than `keep`, largest first, until the pool holds at most `target` bytes. */
function evict(m: PooledBufferManager, keep: string, target: number): void {
  const victims = [...m.freeBuffers.entries()].filter(([key, list]) => key !== keep && list.length > 0).sort((a, b) => b[1][0].size - a[1][0].size);
  for (const [, list] of victims) {
    while (list.length > 0 && pooledBytes(m) > target) {
      const b = list.pop()!;
      b.destroy();
      m.numFreeBuffers--;
      m.numBytesAllocated -= b.size;
    }
    if (pooledBytes(m) <= target) return;
  }
}

/** The active backend's buffer manager where it is tfjs-backend-webgpu's, else undefined. */
export function webgpuBufferManager(): PooledBufferManager | undefined {
  return tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { bufferManager?: PooledBufferManager }).bufferManager : undefined;
}

/** Destroys every pooled buffer (none is in use: the pool holds only freed ones). Returns the bytes it freed. */
export function emptyPool(m: PooledBufferManager): number {
  const before = pooledBytes(m);
  evict(m, '', 0);
  return before - pooledBytes(m);
}

/**
 * Caps the manager's pool at `capBytes` (0: leave tfjs's unbounded pool). Returns the function that undoes it.
 * Keys are tfjs's own `${size}_${usage}`.
 */
export function boundBufferPool(m: PooledBufferManager, capBytes: number): () => void {
  if (capBytes <= 0) return () => {};
  const release = m.releaseBuffer;
  const acquire = m.acquireBuffer;
  const released = new Set<string>(); // large keys a buffer of which was released
  const reused = new Set<string>(); // large keys asked for again after such a release: these pool
  const key = (size: number, usage: number) => `${size}_${usage}`;
  if (acquire) {
    m.acquireBuffer = function counted(size, usage, ...rest) {
      if (size >= LARGE_ONCE_BYTES) {
        const k = key(size, usage);
        if (released.has(k)) reused.add(k);
      }
      return acquire.call(m, size, usage, ...rest);
    };
  }
  m.releaseBuffer = function bounded(buffer, reuse = true) {
    const k = key(buffer.size, buffer.usage);
    if (acquire && buffer.size >= LARGE_ONCE_BYTES) {
      released.add(k);
      if (!reused.has(k)) reuse = false;
    }
    if (reuse && pooledBytes(m) + buffer.size > capBytes) {
      evict(m, k, capBytes - buffer.size);
      if (pooledBytes(m) + buffer.size > capBytes) reuse = false; // still too big: tfjs destroys it
    }
    release.call(m, buffer, reuse);
  };
  return () => {
    m.releaseBuffer = release;
    if (acquire) m.acquireBuffer = acquire;
  };
}
