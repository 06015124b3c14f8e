// Dropout masks made by a shader on the 'webgpu' backend, under the op's name (lib/ops/dropout.ts says why the
// mask is a counter-based hash; its maskValues is the host reference this shader must match bit for bit).
import * as tf from '@tensorflow/tfjs-core';
import { DROPOUT_MASK_KERNEL, type DropoutMaskAttrs } from '../../../ops/dropout';
import { runFlat } from '../program';

/** The WGSL body of the mask kernel (tfjs-backend-webgpu adds the header, uniforms and setOutputAtIndex). */
export const DROPOUT_MASK_WGSL = `
  fn lowbias32(x : u32) -> u32 {
    var h = x;
    h = h ^ (h >> 16u);
    h = h * 0x7feb352du;
    h = h ^ (h >> 15u);
    h = h * 0x846ca68bu;
    h = h ^ (h >> 16u);
    return h;
  }
  fn main(index : i32) {
    if (index < uniforms.size) {
      let h = lowbias32(lowbias32(u32(index) + uniforms.key) ^ uniforms.key);
      setOutputAtIndex(index, select(0.0, uniforms.scale, (h >> 8u) >= uniforms.threshold));
    }
  }
`;

/** Registers the mask kernel on 'webgpu' (without it lib/ops/dropout.ts makes the same mask on the host and uploads it). */
export function registerDropoutMask(): void {
  if (tf.getKernel(DROPOUT_MASK_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: DROPOUT_MASK_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, attrs }) => {
      const a = attrs as unknown as DropoutMaskAttrs;
      return runFlat(backend, 'mlaDropoutMask', DROPOUT_MASK_WGSL, a.shape, [], [], [['key', 'u32', a.key], ['threshold', 'u32', a.threshold], ['scale', 'f32', a.scale]]);
    },
  });
}
