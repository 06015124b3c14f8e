// The project's kernels on tfjs-backend-webgpu: a fix to its AddN, and shaders for dropout masks, AdamW,
// (webgpu-matmul.ts) matmul, (flash-attention.ts) fused causal attention, (layer-norm-kernels.ts) LayerNorm,
// (sum-squares.ts) the gradient norm's Σ x², (rope-kernel.ts) rotary embeddings, (adamw-inplace.ts) an
// in-place AdamW, (column-sums.ts) sums over leading axes (bias gradients), (mla-heads.ts) MLA's per-head
// q, k, v gathered from the projections and (cross-entropy.ts) the loss. Each replaces work that cost host
// time per op or GPU time per element on the H100/H200. MLA_WEBGPU_FUSED turns groups of them off and
// MLA_WEBGPU_MATMUL=tfjs the matmul shader: with both off (MLA_WEBGPU_FUSED=none MLA_WEBGPU_MATMUL=tfjs) every
// shader that runs is tfjs's own. The AddN fix stays on then, because it is not a shader of the project: it only
// calls tfjs's AddN shader on groups of inputs small enough to be valid (without it, the trainer's gradient norm
// reads as zeros).
import type { WebgpuSettings } from '../settings';
import * as tf from '@tensorflow/tfjs-core';
import { registerTiledMatMul } from './webgpu-matmul-kernel';
import { registerFlashAttention } from './flash-attention';
import { registerLayerNormKernels } from './layer-norm-kernels';
import { registerSumSquares } from './sum-squares';
import { registerRopeKernel } from './rope-kernel';
import { registerColumnSums } from './column-sums';
import { registerMlaHeadKernels } from './mla-heads';
import { registerCrossEntropyKernels } from './cross-entropy';
import { registerInPlaceAdamW, registerWebgpuInPlaceAdamW } from './adamw-inplace';
import { runFlat } from './webgpu-program';
import { ADAMW_MOMENT_KERNEL, ADAMW_PARAM_KERNEL, ADAMW_PARAM_WGSL, adamwMomentWgsl, type AdamWMomentAttrs, type AdamWParamAttrs } from './adamw-kernels';
import { DROPOUT_MASK_KERNEL, DROPOUT_MASK_WGSL, type DropoutMaskAttrs } from './dropout-mask';

/** Registers those the settings ask for (after tfjs-backend-webgpu is loaded, before its backend is created). */
export function registerWebgpuKernels(settings: WebgpuSettings): void {
  groupAddN();
  registerTiledMatMul(settings);
  const fused = new Set(settings.fused);
  // Without the mask kernel lib/backend/dropout-mask.ts makes the same mask on the host and uploads it.
  if (fused.has('dropout')) registerDropoutMask();
  // Without AdamW's kernels lib/train/adamw.ts updates through tfjs ops ('auto').
  if (fused.has('adamw')) registerAdamW();
  if (fused.has('attention')) registerFlashAttention(settings.flashRows);
  if (fused.has('layernorm')) registerLayerNormKernels();
  if (fused.has('norm')) registerSumSquares();
  if (fused.has('rope')) registerRopeKernel();
  if (fused.has('adamw')) registerWebgpuInPlaceAdamW();
  else registerInPlaceAdamW('webgpu', null);
  if (fused.has('sums')) registerColumnSums();
  if (fused.has('heads')) registerMlaHeadKernels();
  if (fused.has('loss')) registerCrossEntropyKernels();
}

let addNGrouped = false;

/**
 * tfjs-backend-webgpu's AddN binds every input as a storage buffer in one shader, and WebGPU allows 8 per
 * stage by default (one is the output), so tf.addN of more than 7 tensors (the trainer's global gradient norm
 * adds one square-sum per parameter) gives an invalid pipeline: Dawn prints a validation error, the whole
 * command buffer is dropped and the results read as zeros. This AddN sums groups of at most that many, then
 * the partial sums, the way the package's own Concat does.
 */
function groupAddN(): void {
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

/** Dropout masks made by a shader (dropout-mask.ts says why), instead of uploaded from the host. */
function registerDropoutMask(): void {
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

/** AdamW in three shaders per parameter (adamw-kernels.ts says why). */
function registerAdamW(): void {
  if (tf.getKernel(ADAMW_PARAM_KERNEL, 'webgpu')) return;
  tf.registerKernel({
    kernelName: ADAMW_MOMENT_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { x, g } = inputs as { x: tf.TensorInfo; g: tf.TensorInfo };
      const a = attrs as unknown as AdamWMomentAttrs;
      return runFlat(backend, `mlaAdamWMoment${a.square ? 2 : 1}`, adamwMomentWgsl(a.square), x.shape, [x, g], ['X', 'G'], [['keep', 'f32', a.keep], ['mix', 'f32', a.mix], ['gradScale', 'f32', a.gradScale]]);
    },
  });
  tf.registerKernel({
    kernelName: ADAMW_PARAM_KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ backend, inputs, attrs }) => {
      const { p, m, v } = inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };
      const a = attrs as unknown as AdamWParamAttrs;
      return runFlat(backend, 'mlaAdamWParam', ADAMW_PARAM_WGSL, p.shape, [p, m, v], ['P', 'M1', 'M2'], [['decay', 'f32', a.decay], ['stepSize', 'f32', a.stepSize], ['invSqrtBc2', 'f32', a.invSqrtBc2], ['eps', 'f32', a.eps]]);
    },
  });
}
