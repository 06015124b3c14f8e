// Transpose of float32 tensors (head splits and merges, the transposes inside matmul gradients).
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values } from './tensor-data';

export function nativeTranspose(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { perm } = args.attrs as unknown as tf.TransposeAttrs;
    const xv = f32Values(args.backend, x);
    if (!xv || perm.length !== x.shape.length) return original(args);
    const out = new Float32Array(xv.length);
    addon.transpose(xv, Int32Array.from(x.shape), Int32Array.from(perm), out);
    return f32Output(args.backend, perm.map((p) => x.shape[p]), out);
  };
}
