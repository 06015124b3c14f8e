// The fused causal-attention shaders (flash-attention-wgsl.ts) as tfjs kernels of the 'webgpu' backend, under
// the names of the op (lib/ops/flash-attention.ts); a backend without them keeps the unfused core.
import type * as tf from '@tensorflow/tfjs-core';
import { type WorkgroupKernel, type WorkgroupProgram, registerWorkgroupKernels } from '../program';
import { DEFAULT_FLASH_ROWS, backendSettings } from '../../../settings';
import { FLASH_DKV_KERNEL, FLASH_DQ_KERNEL, FLASH_FORWARD_KERNEL } from '../../../ops/flash-attention';
import { FLASH_ROWS, FLASH_TILE_BYTES, flashDispatch, flashDkvWgsl, flashDqWgsl, flashForwardWgsl, flashPlan, flashUniforms } from './flash-attention-wgsl';

type Kind = 'forward' | 'dq' | 'dkv';

const SHADER_NAMES: Record<string, string> = { q: 'Q', k: 'K', v: 'V', dO: 'DO', lse: 'LSE', delta: 'DELTA' };

/**
 * The shader of one kernel for these inputs (q first, v third), with `rows` query rows per thread (MLA_FLASH_ROWS)
 * and tiles within `tileBytes` of workgroup memory (MLA_WEBGPU_FLASH_TILE_KIB).
 */
function program(kind: Kind, inputNames: string[], rows: () => number, tileBytes: () => number) {
  return (inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram => {
    const [BH, T, D] = inputs[0].shape;
    const Dv = inputs[2].shape[2];
    const plan = flashPlan(BH, T, { D, Dv }, rows(), tileBytes());
    return {
      key: `mlaFlash_${kind}_${D}_${Dv}_${plan.keyTile}_${plan.queryTile}_${plan.forwardRows}_${plan.dqRows}`,
      wgsl: () => ({ forward: flashForwardWgsl, dq: flashDqWgsl, dkv: flashDkvWgsl })[kind](plan),
      names: inputNames.map((n) => SHADER_NAMES[n]),
      size: { forward: BH * T * (Dv + 1), dq: BH * T * D, dkv: BH * T * (D + Dv) }[kind],
      dispatch: flashDispatch(plan, kind),
      workgroupSize: [FLASH_ROWS, 1, 1],
      uniforms: flashUniforms(plan, attrs.scale, kind),
    };
  };
}

const BACKWARD_INPUTS = ['q', 'k', 'v', 'dO', 'lse', 'delta'];

/**
 * The three kernels with `rows` query rows per thread in the forward and dQ shaders (heads wider than 32: 1), their
 * tiles within `tileBytes` of workgroup memory.
 */
export function flashKernels(rows: number | (() => number), tileBytes: number | (() => number) = FLASH_TILE_BYTES): WorkgroupKernel[] {
  const r = typeof rows === 'number' ? () => rows : rows;
  const t = typeof tileBytes === 'number' ? () => tileBytes : tileBytes;
  return [
    { kernelName: FLASH_FORWARD_KERNEL, inputs: ['q', 'k', 'v'], program: program('forward', ['q', 'k', 'v'], r, t) },
    { kernelName: FLASH_DQ_KERNEL, inputs: BACKWARD_INPUTS, program: program('dq', BACKWARD_INPUTS, r, t) },
    { kernelName: FLASH_DKV_KERNEL, inputs: BACKWARD_INPUTS, program: program('dkv', BACKWARD_INPUTS, r, t) },
  ];
}

/**
 * The kernels with the rows of this process's MLA_FLASH_ROWS (2, the only value left) at each call; the
 * registered ones (registerFlashAttention) take the rows of the settings initBackend got.
 */
export const FLASH_KERNELS: WorkgroupKernel[] = flashKernels(() => backendSettings().webgpu.flashRows, () => backendSettings().webgpu.flashTileKiB * 1024);

/** Registers the three kernels on 'webgpu'. */
export function registerFlashAttention(rows: number = DEFAULT_FLASH_ROWS, tileBytes = FLASH_TILE_BYTES): void {
  registerWorkgroupKernels(flashKernels(rows, tileBytes));
}
