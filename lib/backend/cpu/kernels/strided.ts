// Slice, SplitV and PadV2 as strided block copies. tfjs's CPU kernels move these element by element through
// index arithmetic, which made slicing heads into their RoPE and no-RoPE parts (and the Pad that is Slice's
// gradient) the largest cost of an MLA training step. These are plain JavaScript: they help with or without
// the native addon.
import * as tf from '@tensorflow/tfjs-core';
import type { CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * Copies the block `size` at `begin` of src (shape srcShape) into dst (shape dstShape) at `dstBegin`.
 * Trailing dims that are whole in both arrays fold into one contiguous run, copied with TypedArray.set.
 */
export function copyBlock(
  src: Float32Array,
  srcShape: readonly number[],
  begin: readonly number[],
  dst: Float32Array,
  dstShape: readonly number[],
  dstBegin: readonly number[],
  size: readonly number[],
): void {
  const r = size.length;
  if (r === 0 || sizeOf(size) === 0) {
    if (r === 0) dst[0] = src[0];
    return;
  }
  let inner = r - 1; // the first dim of the contiguous run
  while (inner > 0 && size[inner] === srcShape[inner] && size[inner] === dstShape[inner]) inner--;
  const run = sizeOf(size.slice(inner));
  const ss = stridesOf(srcShape);
  const ds = stridesOf(dstShape);
  const idx = new Array<number>(inner).fill(0);
  for (;;) {
    let so = begin[inner] * ss[inner];
    let d = dstBegin[inner] * ds[inner];
    for (let i = 0; i < inner; i++) {
      so += (begin[i] + idx[i]) * ss[i];
      d += (dstBegin[i] + idx[i]) * ds[i];
    }
    dst.set(src.subarray(so, so + run), d);
    let k = inner - 1;
    while (k >= 0 && ++idx[k] === size[k]) idx[k--] = 0;
    if (k < 0) break;
  }
}

export function fastSlice(original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    // tfjs's own parsing and checks, so a bad slice fails with the JS kernel's message.
    const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, b, s);
    const out = new Float32Array(sizeOf(s));
    copyBlock(xv, x.shape, b, out, s, s.map(() => 0), s);
    return f32Output(args.backend, s, out);
  };
}

export function fastSplitV(original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    let at = 0;
    return sizes.map((n) => {
      const begin = x.shape.map((_, i) => (i === ax ? at : 0));
      const size = x.shape.map((d, i) => (i === ax ? n : d));
      at += n;
      const out = new Float32Array(sizeOf(size));
      copyBlock(xv, x.shape, begin, out, size, size.map(() => 0), size);
      return f32Output(args.backend, size, out);
    });
  };
}

export function fastPadV2(original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    if (paddings.length !== x.shape.length) return original(args);
    const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
    const out = new Float32Array(sizeOf(outShape));
    if (constantValue !== 0) out.fill(constantValue);
    copyBlock(xv, x.shape, x.shape.map(() => 0), out, outShape, paddings.map((p) => p[0]), x.shape);
    return f32Output(args.backend, outShape, out);
  };
}

/**
 * The JS fast paths. initBackend('cpu') registers them when the addon is not available (the native
 * kernels cover the same three when it is); not when native kernels are turned off on purpose, which
 * asks for tfjs's own kernels.
 */
export const STRIDED_KERNELS: { kernelName: string; make: (original: CpuKernelFunc) => CpuKernelFunc }[] = [
  { kernelName: 'Slice', make: fastSlice },
  { kernelName: 'SplitV', make: fastSplitV },
  { kernelName: 'PadV2', make: fastPadV2 },
];
