// Slice, SplitV, PadV2 and Concat: boxes copied between arrays by the addon's copyBlock. The JS Slice and
// Pad compute a multi-index per element; in a model that slices RoPE halves and latent parts out of the
// last axis, they (with their gradients, Pad and Concat) took most of a training step.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelArgs, CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

const i32 = (xs: readonly number[]) => Int32Array.from(xs);

function copySlice(addon: NativeAddon, args: CpuKernelArgs, x: tf.TensorInfo, xv: Float32Array, begin: number[], size: number[]): tf.TensorInfo {
  // A slice that is one contiguous stretch is a view, as in the JS kernel (no copy at all).
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    return f32Output(args.backend, size, xv.subarray(offset, offset + sizeOf(size)));
  }
  const out = new Float32Array(sizeOf(size));
  addon.copyBlock(xv, i32(x.shape), i32(begin), out, i32(size), new Int32Array(size.length), i32(size));
  return f32Output(args.backend, size, out);
}

export function nativeSlice(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
    return copySlice(addon, args, x, xv, b, s);
  };
}

export function nativeSplitV(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[ax] = s;
      const piece = copySlice(addon, args, x, xv, [...begin], size);
      begin[ax] += s;
      return piece;
    });
  };
}

export function nativePadV2(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    const xv = f32Values(args.backend, x);
    if (!xv || paddings.length !== x.shape.length) return original(args);
    const outShape = paddings.map((p, i) => p[0] + x.shape[i] + p[1]);
    const out = new Float32Array(sizeOf(outShape));
    if (constantValue !== 0) out.fill(constantValue);
    addon.copyBlock(xv, i32(x.shape), new Int32Array(x.shape.length), out, i32(outShape), i32(paddings.map((p) => p[0])), i32(x.shape));
    return f32Output(args.backend, outShape, out);
  };
}

export function nativeConcat(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const { axis } = args.attrs as unknown as tf.ConcatAttrs;
    if (inputs.length < 2) return original(args);
    const values = inputs.map((t) => f32Values(args.backend, t));
    if (values.some((v) => v === null)) return original(args);
    const ax = tf.util.parseAxisParam(axis, inputs[0].shape)[0];
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, ax);
    const outShape = tf.backend_util.computeOutShape(shapes, ax);
    const out = new Float32Array(sizeOf(outShape));
    const at = new Int32Array(outShape.length);
    inputs.forEach((t, i) => {
      addon.copyBlock(values[i]!, i32(t.shape), new Int32Array(t.shape.length), out, i32(outShape), at, i32(t.shape));
      at[ax] += t.shape[ax];
    });
    return f32Output(args.backend, outShape, out);
  };
}
