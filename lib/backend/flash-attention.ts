// The fused causal-attention kernels (flash-attention-wgsl.ts) as tfjs kernels of the 'webgpu' backend.
// lib/attention/flash.ts is the op that calls them; a backend without them keeps the unfused core.
import * as tf from '@tensorflow/tfjs-core';
import { type ProgramRunner, uniformData, uniformDeclarations } from './webgpu-program';
import { FLASH_ROWS, type FlashPlan, flashDispatch, flashDkvWgsl, flashDqWgsl, flashForwardWgsl, flashPlan, flashUniforms } from './flash-attention-wgsl';

/** Inputs q, k (BH, T, D), v (BH, T, Dv); output (1, 1, n), flat: O (BH·T·Dv) then log-sum-exp (BH·T). */
export const FLASH_FORWARD_KERNEL = 'MlaFlashAttention';
/** Inputs q, k, v, dO (BH, T, Dv), lse (BH, T), delta (BH, T); output dQ (BH, T, D) flat as (1, 1, n). */
export const FLASH_DQ_KERNEL = 'MlaFlashAttentionDq';
/** Same inputs; output (1, 1, n), flat: dK (BH·T·D) then dV (BH·T·Dv). */
export const FLASH_DKV_KERNEL = 'MlaFlashAttentionDkv';

export interface FlashAttrs {
  scale: number;
}

type Kind = 'forward' | 'dq' | 'dkv';

function run(backend: unknown, kind: Kind, inputs: tf.TensorInfo[], names: string[], scale: number): tf.TensorInfo {
  const [BH, T, D] = inputs[0].shape;
  const Dv = inputs[2].shape[2];
  const plan: FlashPlan = flashPlan(BH, T, { D, Dv });
  const size = { forward: BH * T * (Dv + 1), dq: BH * T * D, dkv: BH * T * (D + Dv) }[kind];
  const wgsl = { forward: flashForwardWgsl, dq: flashDqWgsl, dkv: flashDkvWgsl }[kind](plan);
  const uniforms = flashUniforms(plan, scale, kind);
  const program = {
    variableNames: names,
    outputShape: [1, 1, size], // flat; rank 3 so that the layout below is not a flat one
    shaderKey: `mlaFlash_${kind}_${D}_${Dv}_${plan.keyTile}_${plan.queryTile}`,
    uniforms: uniformDeclarations(uniforms),
    workgroupSize: [FLASH_ROWS, 1, 1] as [number, number, number],
    // Not a flat layout, so tfjs calls main() without an index; the dispatch below is what counts.
    dispatchLayout: { x: [2], y: [1], z: [0] },
    dispatch: flashDispatch(plan),
    getUserCode: () => wgsl,
  };
  return (backend as ProgramRunner).runWebGPUProgram(program, inputs, 'float32', uniformData(uniforms));
}

let registered = false;

/** Registers the three kernels on 'webgpu' unless MLA_FLASH_ATTENTION=off. */
export function registerFlashAttention(): void {
  if (registered || !flashAttentionRequested()) return;
  const kernels: [string, Kind, string[]][] = [
    [FLASH_FORWARD_KERNEL, 'forward', ['q', 'k', 'v']],
    [FLASH_DQ_KERNEL, 'dq', ['q', 'k', 'v', 'dO', 'lse', 'delta']],
    [FLASH_DKV_KERNEL, 'dkv', ['q', 'k', 'v', 'dO', 'lse', 'delta']],
  ];
  const shaderNames: Record<string, string> = { q: 'Q', k: 'K', v: 'V', dO: 'DO', lse: 'LSE', delta: 'DELTA' };
  for (const [kernelName, kind, inputNames] of kernels) {
    tf.registerKernel({
      kernelName,
      backendName: 'webgpu',
      kernelFunc: ({ backend, inputs, attrs }) => {
        const ins = inputNames.map((n) => (inputs as Record<string, tf.TensorInfo>)[n]);
        return run(backend, kind, ins, inputNames.map((n) => shaderNames[n]), (attrs as unknown as FlashAttrs).scale);
      },
    });
  }
  registered = true;
}

/** MLA_FLASH_ATTENTION: 'on' (the default) or 'off' (the unfused core, for comparison). */
export function flashAttentionRequested(): boolean {
  const v = process.env.MLA_FLASH_ATTENTION ?? 'on';
  if (v !== 'on' && v !== 'off') throw new RangeError(`MLA_FLASH_ATTENTION='${v}': expected 'on' (the default) or 'off'`);
  return v === 'on';
}
