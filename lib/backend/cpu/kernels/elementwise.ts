// Unary maps and broadcasting binary ops on float32 tensors. Other dtypes (int32 index arithmetic,
// bool masks) stay on the JS kernels, which also keep raising tfjs's own errors for bad shapes.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

/** Kernel name → op code of native/src/elementwise.cc's `unary`. */
export const UNARY_CODES: Readonly<Record<string, number>> = {
  Exp: 0, Log: 1, Neg: 2, Relu: 3, Step: 4, Rsqrt: 5, Sqrt: 6, Square: 7,
  Abs: 8, Sigmoid: 9, Tanh: 10, Reciprocal: 11, Relu6: 12, Elu: 13,
};

/** Kernel name → op code of native/src/elementwise.cc's `binary`. */
export const BINARY_CODES: Readonly<Record<string, number>> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, Pow: 6, SquaredDifference: 7,
};

export function nativeUnary(kernelName: string): (addon: NativeAddon, original: CpuKernelFunc) => CpuKernelFunc {
  const code = UNARY_CODES[kernelName];
  if (code === undefined) throw new Error(`nativeUnary: no native code for kernel '${kernelName}'`);
  return (addon, original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const xv = f32Values(args.backend, x);
    if (!xv) return original(args);
    const alpha = (args.attrs as { alpha?: number } | undefined)?.alpha ?? 0;
    const out = new Float32Array(xv.length);
    addon.unary(code, xv, out, alpha);
    return f32Output(args.backend, [...x.shape], out);
  };
}

/** numpy broadcast of two shapes, or null when they do not broadcast. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < r; k++) {
    const da = a[a.length - r + k] ?? 1;
    const db = b[b.length - r + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function nativeBinary(kernelName: string): (addon: NativeAddon, original: CpuKernelFunc) => CpuKernelFunc {
  const code = BINARY_CODES[kernelName];
  if (code === undefined) throw new Error(`nativeBinary: no native code for kernel '${kernelName}'`);
  return (addon, original) => (args) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const av = f32Values(args.backend, a);
    const bv = f32Values(args.backend, b);
    const outShape = broadcastShape(a.shape, b.shape);
    if (!av || !bv || !outShape) return original(args);
    const out = new Float32Array(sizeOf(outShape));
    addon.binary(code, av, Int32Array.from(a.shape), bv, Int32Array.from(b.shape), out);
    return f32Output(args.backend, outShape, out);
  };
}
