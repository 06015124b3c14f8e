// GatherV2 (batchDims 0) and UnsortedSegmentSum, the pair behind tf.gather and its gradient: every
// embedding lookup and the cross-entropy's pick of each target's log-probability.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelArgs, CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

function i32Values(args: CpuKernelArgs, t: tf.TensorInfo): Int32Array | null {
  if (t.dtype !== 'int32') return null;
  const v = args.backend.data.get(t.dataId).values;
  return v instanceof Int32Array ? v : null;
}

export function nativeGatherV2(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const indices = args.inputs.indices as tf.TensorInfo;
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    const xv = f32Values(args.backend, x);
    const iv = i32Values(args, indices);
    if (!xv || !iv || (batchDims ?? 0) !== 0 || x.shape.length === 0) return original(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const outer = sizeOf(x.shape.slice(0, ax));
    const rows = x.shape[ax];
    const inner = sizeOf(x.shape.slice(ax + 1));
    const outShape = [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)];
    const out = new Float32Array(sizeOf(outShape));
    // An index out of range: let the JS kernel raise tfjs's own error message.
    if (!addon.gatherRows(xv, iv, out, outer, rows, inner, iv.length)) return original(args);
    return f32Output(args.backend, outShape, out);
  };
}

export function nativeUnsortedSegmentSum(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const segmentIds = args.inputs.segmentIds as tf.TensorInfo;
    const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const xv = f32Values(args.backend, x);
    const iv = i32Values(args, segmentIds);
    const idsRank = segmentIds.shape.length;
    // segmentIds covers x's leading dims; each id picks the row of the trailing dims at that position.
    if (!xv || !iv || idsRank > x.shape.length || segmentIds.shape.some((d, i) => d !== x.shape[i])) return original(args);
    const inner = sizeOf(x.shape.slice(idsRank));
    const outShape = [numSegments, ...x.shape.slice(idsRank)];
    const out = new Float32Array(sizeOf(outShape));
    addon.unsortedSegmentSum(xv, iv, out, iv.length, inner, numSegments);
    return f32Output(args.backend, outShape, out);
  };
}
