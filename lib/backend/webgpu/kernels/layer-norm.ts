// The LayerNorm shaders (layer-norm-wgsl.ts) as tfjs kernels of the 'webgpu' backend, under the names of the op
// (lib/ops/layer-norm.ts), which takes them where the backend has them.
import * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels } from '../program';
import { LAYER_NORM_DX_KERNEL, LAYER_NORM_KERNEL, LAYER_NORM_SUMS_KERNEL } from '../../../ops/layer-norm';
import { LN_THREADS, layerNormColumnSumsWgsl, layerNormDispatch, layerNormDxWgsl, layerNormForwardWgsl, layerNormPlan } from './layer-norm-wgsl';

type Kind = 'forward' | 'dx' | 'sums';

/** The shader of one kernel for these inputs (x first) and shader input names. */
function program(kind: Kind, names: string[]) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram => {
    const x = inputs[0];
    const width = x.shape[x.shape.length - 1];
    const plan = layerNormPlan(tf.util.sizeFromShape(x.shape) / width, width);
    return {
      key: `mlaLayerNorm_${kind}_${width}`,
      wgsl: () => ({ forward: layerNormForwardWgsl, dx: layerNormDxWgsl, sums: layerNormColumnSumsWgsl })[kind](plan),
      names,
      size: kind === 'sums' ? plan.chunks * 2 * width : plan.rows * width,
      dispatch: layerNormDispatch(kind === 'sums' ? plan.chunks : plan.rows),
      workgroupSize: [LN_THREADS, 1, 1],
      uniforms: [
        ['rows', 'i32', plan.rows],
        ['eps', 'f32', attrs.eps],
        ['rowsPerChunk', 'i32', plan.rowsPerChunk],
        ['chunks', 'i32', plan.chunks],
      ],
    };
  };
}

export const LAYER_NORM_KERNELS: WorkgroupKernel[] = [
  { kernelName: LAYER_NORM_KERNEL, inputs: ['x', 'gamma', 'beta'], program: program('forward', ['X', 'G', 'BETA']) },
  { kernelName: LAYER_NORM_DX_KERNEL, inputs: ['x', 'gamma', 'dy'], program: program('dx', ['X', 'G', 'DY']) },
  { kernelName: LAYER_NORM_SUMS_KERNEL, inputs: ['x', 'dy'], program: program('sums', ['X', 'DY']) },
];

/** Registers the three kernels on 'webgpu'. */
export function registerLayerNormKernels(): void {
  registerWorkgroupKernels(LAYER_NORM_KERNELS);
}
