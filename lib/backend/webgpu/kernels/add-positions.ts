// The learned-position add of lib/ops/add-positions.ts as one elementwise shader: out = X + TABLE[(start + t)·C + c]
// for x (B, T, C). Its start is a uniform declared positional, so a step graph replays it at later positions.
import * as tf from '@tensorflow/tfjs-core';
import { ADD_POSITIONS_KERNEL, type AddPositionsAttrs } from '../../../ops/add-positions';
import { runFlat } from '../program';

export const ADD_POSITIONS_WGSL = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      let c = index % uniforms.C;
      let t = (index / uniforms.C) % uniforms.T;
      setOutputAtIndex(index, X[index] + TABLE[(uniforms.start + t) * uniforms.C + c]);
    }
  }
`;

/** The shader's uniforms for x (B, T, C) from row `start`. */
export function addPositionsUniforms(shape: number[], start: number): [string, 'i32', number][] {
  return [['C', 'i32', shape[2]], ['T', 'i32', shape[1]], ['start', 'i32', start]];
}

export function registerAddPositionsKernel(): void {
  if (tf.getKernel(ADD_POSITIONS_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ADD_POSITIONS_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { x, table } = inputs as { x: tf.TensorInfo; table: tf.TensorInfo };
      const { start } = attrs as unknown as AddPositionsAttrs;
      return runFlat(backend, 'mlaAddPositions', ADD_POSITIONS_WGSL, x.shape, [x, table], ['X', 'TABLE'], addPositionsUniforms(x.shape, start), (shift) => addPositionsUniforms(x.shape, start + shift));
    },
  });
}
