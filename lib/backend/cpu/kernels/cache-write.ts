// The cache write of lib/ops/cache-write.ts on the 'cpu' backend, in place: rows start .. start + t − 1 of each
// (B, X) row of the buffer are overwritten in the backend's own Float32Array/Int32Array, t·W elements per row,
// and the result is the buffer's own storage (its refCount raised, as Reshape does). The op has checked shapes,
// positions and that nothing else holds the buffer's storage.
// Shape legend: B batch, X heads of the cached tensor, t rows written, W row width.
import type * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { CACHE_WRITE_KERNEL, type CacheWriteAttrs } from '../../../ops/cache-write';

type Values = Float32Array | Int32Array | Uint8Array;

export function cpuCacheWrite({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { buf, rows } = inputs as { buf: tf.TensorInfo; rows: tf.TensorInfo };
  const { start } = attrs as unknown as CacheWriteAttrs;
  const dst = backend.data.get(buf.dataId).values as Values;
  // A buffer whose array is a window on a larger one (a contiguous slice of another tensor) would write into that tensor.
  if (dst.length * dst.BYTES_PER_ELEMENT !== dst.buffer.byteLength) {
    throw new Error(`cache write: the buffer (${buf.shape}) is a view into another tensor's storage; write into a buffer of its own (tf.zeros)`);
  }
  const src = backend.data.get(rows.dataId).values as Values;
  const [B, X, cap, W] = buf.shape;
  const row = (rows.shape[2] as number) * W;
  for (let r = 0; r < B * X; r++) dst.set(src.subarray(r * row, (r + 1) * row), (r * cap + start) * W);
  backend.incRef(buf.dataId);
  return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
}

export const CPU_CACHE_WRITE: tf.KernelConfig = {
  kernelName: CACHE_WRITE_KERNEL,
  backendName: 'cpu',
  kernelFunc: cpuCacheWrite as unknown as tf.KernelFunc,
};
