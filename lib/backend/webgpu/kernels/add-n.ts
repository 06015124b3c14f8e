// A fix to tfjs-backend-webgpu's AddN: not a shader of the project (it calls tfjs's own AddN shader on groups of
// inputs small enough to be valid), so it stays registered when the project's shaders are off.
import * as tf from '@tensorflow/tfjs-core';

let addNGrouped = false;

/**
 * tfjs-backend-webgpu's AddN binds every input as a storage buffer in one shader, and WebGPU allows 8 per
 * stage by default (one is the output), so tf.addN of more than 7 tensors (the trainer's global gradient norm
 * adds one square-sum per parameter) gives an invalid pipeline: Dawn prints a validation error, the whole
 * command buffer is dropped and the results read as zeros. This AddN sums groups of at most that many, then
 * the partial sums, the way the package's own Concat does.
 */
export function groupAddN(): void {
  if (addNGrouped) return;
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) return;
  const addN = original.kernelFunc;
  type Backend = { device: { limits: { maxStorageBuffersPerShaderStage: number } }; disposeData(id: object): void };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as Backend;
      const most = Math.max(2, b.device.limits.maxStorageBuffersPerShaderStage - 1);
      let level = inputs as unknown as tf.TensorInfo[];
      const partials: tf.TensorInfo[] = [];
      while (level.length > most) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < level.length; i += most) {
          const group = level.slice(i, i + most);
          if (group.length === 1) next.push(group[0]);
          else {
            const sum = addN({ inputs: group as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
            partials.push(sum);
            next.push(sum);
          }
        }
        level = next;
      }
      const out = addN({ inputs: level as unknown as tf.NamedTensorInfoMap, backend, attrs });
      for (const t of partials) b.disposeData(t.dataId);
      return out;
    },
  });
  addNGrouped = true;
}
