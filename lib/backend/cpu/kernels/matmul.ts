// BatchMatMul and _FusedMatMul through the addon's sgemm. Semantics are tfjs's: the last two dims are the
// matrices, every dim before them broadcasts (numpy rules), transposeA/B flip the matrices. Unlike the JS
// kernel, which indexes batches modulo their count, broadcasting such as (2,1,·,·)×(1,3,·,·) is exact.
import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon';
import type { CpuKernelArgs, CpuKernelFunc } from '../kernel-override';
import { f32Output, f32Values, sizeOf } from './tensor-data';

/** Activations the addon fuses after the product; anything else (prelu) goes to the JS kernel. */
export const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

interface MatMulPlan {
  outShape: number[];
  aBatch: Int32Array;
  bBatch: Int32Array;
  m: number;
  n: number;
  k: number;
}

/** Shapes of one product, or null when the batch dims do not broadcast (left to the JS kernel to report). */
function planMatMul(aShape: number[], bShape: number[], transA: boolean, transB: boolean): MatMulPlan | null {
  const ra = aShape.length;
  const rb = bShape.length;
  if (ra < 2 || rb < 2) return null;
  const k = transA ? aShape[ra - 2] : aShape[ra - 1];
  const kb = transB ? bShape[rb - 1] : bShape[rb - 2];
  if (k !== kb) return null;
  const m = transA ? aShape[ra - 1] : aShape[ra - 2];
  const n = transB ? bShape[rb - 2] : bShape[rb - 1];
  // Left-pad the shorter batch shape with 1s so both have the same rank, as broadcasting does.
  const r = Math.max(ra, rb) - 2;
  const aBatch = new Int32Array(r).fill(1);
  const bBatch = new Int32Array(r).fill(1);
  aBatch.set(aShape.slice(0, -2), r - (ra - 2));
  bBatch.set(bShape.slice(0, -2), r - (rb - 2));
  const outBatch: number[] = [];
  for (let d = 0; d < r; d++) {
    if (aBatch[d] !== bBatch[d] && aBatch[d] !== 1 && bBatch[d] !== 1) return null;
    outBatch.push(Math.max(aBatch[d], bBatch[d]));
  }
  return { outShape: [...outBatch, m, n], aBatch, bBatch, m, n, k };
}

export function nativeBatchMatMul(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args: CpuKernelArgs) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    const av = f32Values(args.backend, a);
    const bv = f32Values(args.backend, b);
    const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
    if (!av || !bv || !plan) return original(args);
    const out = new Float32Array(sizeOf(plan.outShape));
    addon.batchMatMul(av, bv, out, plan.aBatch, plan.bBatch, plan.m, plan.n, plan.k, transposeA, transposeB, null, 0, 0, 0);
    return f32Output(args.backend, plan.outShape, out);
  };
}

/**
 * How the bias broadcasts onto (batch..., m, n): 1 scalar, 2 one value per column, or null for any
 * other layout (a per-row bias, a bias that widens the output), which the JS kernel handles.
 */
function biasKind(biasShape: number[], outShape: number[], n: number): number | null {
  if (biasShape.length > outShape.length) return null;
  const core = [...biasShape];
  while (core.length > 0 && core[0] === 1) core.shift();
  if (core.length === 0) return 1;
  if (core.length === 1 && core[0] === n) return 2;
  if (core.length === 1 && core[0] === 1) return 1;
  return null;
}

export function nativeFusedMatMul(addon: NativeAddon, original: CpuKernelFunc): CpuKernelFunc {
  return (args: CpuKernelArgs) => {
    const { a, b, bias } = args.inputs as unknown as tf._FusedMatMulInputs;
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as tf._FusedMatMulAttrs;
    const act = ACTIVATION_CODES[activation ?? 'linear'];
    const av = f32Values(args.backend, a);
    const bv = f32Values(args.backend, b);
    const plan = planMatMul(a.shape, b.shape, transposeA, transposeB);
    if (!av || !bv || !plan || act === undefined) return original(args);
    let kind = 0;
    let biasValues: Float32Array | null = null;
    if (bias) {
      const bk = biasKind(bias.shape, plan.outShape, plan.n);
      biasValues = f32Values(args.backend, bias);
      if (bk === null || !biasValues) return original(args);
      kind = bk;
    }
    const out = new Float32Array(sizeOf(plan.outShape));
    addon.batchMatMul(
      av, bv, out, plan.aBatch, plan.bBatch, plan.m, plan.n, plan.k, transposeA, transposeB,
      biasValues, kind, act, leakyreluAlpha ?? 0.2,
    );
    return f32Output(args.backend, plan.outShape, out);
  };
}
