// Sum, Mean, Max, Min over a contiguous block of axes (any other axis set goes to the JS kernel, which
// transposes first) and Softmax over the last axis.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

/** Kernel name → op code of native/src/reduce.cc's `reduce`, and the attribute holding its axes. */
export const REDUCE_CODES: Readonly<Record<string, { code: number; axisAttr: string }>> = {
  Sum: { code: 0, axisAttr: 'axis' },
  Mean: { code: 1, axisAttr: 'axis' },
  Max: { code: 2, axisAttr: 'reductionIndices' },
  Min: { code: 3, axisAttr: 'axis' },
};

interface ReducePlan {
  outer: number;
  r: number;
  inner: number;
  outShape: number[];
}

/** x seen as (outer, r, inner) when the axes are one contiguous run; null otherwise. */
export function planReduce(shape: number[], axisAttr: number | number[] | undefined, keepDims: boolean): ReducePlan | null {
  const axes = [...new Set(tf.util.parseAxisParam(axisAttr ?? shape.map((_, k) => k), shape))].sort((p, q) => p - q);
  if (axes.length === 0) return null;
  for (let k = 1; k < axes.length; k++) if (axes[k] !== axes[k - 1] + 1) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  const r = sizeOf(shape.slice(first, last + 1));
  if (r === 0) return null;
  const outShape = keepDims
    ? shape.map((d, k) => (k >= first && k <= last ? 1 : d))
    : shape.filter((_, k) => k < first || k > last);
  return { outer: sizeOf(shape.slice(0, first)), r, inner: sizeOf(shape.slice(last + 1)), outShape };
}

export function nativeReduce(kernelName: string): (addon: NativeAddon, original: CpuKernelFunc) => CpuKernelFunc {
  const spec = REDUCE_CODES[kernelName];
  if (!spec) throw new Error(`nativeReduce: no native code for kernel '${kernelName}'`);
  return (addon, original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const attrs = (args.attrs ?? {}) as Record<string, unknown>;
    const xv = f32Values(args.backend, x);
    const plan = xv && xv.length > 0 ? planReduce(x.shape, attrs[spec.axisAttr] as number | number[], !!attrs.keepDims) : null;
    if (!xv || !plan) return original(args);
    const out = new Float32Array(plan.outer * plan.inner);
    addon.reduce(spec.code, xv, out, plan.outer, plan.r, plan.inner);
    return f32Output(args.backend, plan.outShape, out);
  };
}

export function nativeSoftmax(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const logits = args.inputs.logits as tf.TensorInfo;
    const { dim } = args.attrs as unknown as tf.SoftmaxAttrs;
    const rank = logits.shape.length;
    const xv = f32Values(args.backend, logits);
    if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return original(args);
    const n = logits.shape[rank - 1];
    const out = new Float32Array(xv.length);
    addon.softmax(xv, out, n === 0 ? 0 : xv.length / n, n);
    return f32Output(args.backend, [...logits.shape], out);
  };
}
