// Which BatchMatMul products on WebGPU go to the tiled shader (webgpu-matmul.ts) and which stay with tfjs's,
// and the kernel registration that applies it. The policy comes from scripts/device/matmul-check.js on the H100
// (data/bench/device/session-2/): each rule below names the measurement behind it.
// On by default (MLA_WEBGPU_MATMUL=tfjs turns it off). In session 2 it did not pay end to end, because a step
// was bound by host time then; once the fused kernels had cut the host time, it took the 35M MLA model on the
// H200 from 51.5k/52.2k to 57.4k/57.9k tokens/s (alternating runs, data/bench/device/session-3/).
import * as tf from '@tensorflow/tfjs-core';
import { type MatMulPlan, type MatMulShape, type TileShape, matMulShape, planSplits, tiledMatMul } from './webgpu-matmul';

/**
 * The tiled shader's plan for a product, or null to leave it to tfjs. Measured on the H100 with every product
 * of a 35M MLA step (data/bench/device/session-2/final/matmul-check.json) and end to end (train-*.json):
 * - A·Bᵀ (dy·Wᵀ, attention scores q·kᵀ, the head's dy·Wᵀ): the tiled shader, 1.3–2× tfjs's;
 * - Aᵀ·B (weight gradients) and A·B: tfjs's vec4 shaders are as fast or faster, and sending every product to
 *   the tiled shader made a training step slower (18.4k against 21.2k tokens/s in one run);
 * - outputs narrower than 64 (attention's 16- and 32-wide heads, decode's single row): tfjs's, which beat
 *   the 128 × 32 tile by 1.4–3×;
 * - any product with a dim that is not a multiple of 4 (MLA's ranks): the tiled shader (session-3 measurements).
 * Split-K applies when an A·Bᵀ product has too few tiles for the GPU (short sequences, small batches).
 */
export function choosePlan(s: MatMulShape, transposeA: boolean, transposeB: boolean, tile: TileShape = POLICY_TILE, wide = policyWide): MatMulPlan | null {
  if (s.M < 64 || s.N < 64 || s.K < 16) return null;
  if (!transposeA && transposeB) return planSplits(s, tile);
  // A dim off the multiple of 4 that tfjs's vec4 shaders need (MLA's 341-wide latent and 357-wide down-projection):
  // tfjs falls back to a scalar shader, 4.4–5.4 TFLOP/s on those weight gradients on the H200.
  if (s.M % 4 !== 0 || s.N % 4 !== 0 || s.K % 4 !== 0) return planSplits(s, tile);
  if (wide) {
    // MLA_WEBGPU_MATMUL=tiled-wide, measured per product only (session-3/run9-vec4-matmul): x·W 25.7 against
    // tfjs's 17.9 TFLOP/s (the MLP's 4C → C), the head 28.1 against 22.3; the large weight gradients, K split,
    // 17.7–18.8 against 16.2–17.1 (tfjs's stay better on the small ones: C × C 11.0 against 9.2).
    if (!transposeA && !transposeB) return planSplits(s, tile);
    if (transposeA && !transposeB && s.M * s.N >= 512 * 2048) return planSplits(s, tile);
  }
  return null;
}

/**
 * The tile of the policy: 128 × 128 staged as vec4s, faster than the strided layout on all but one of the
 * products the policy takes (dy·Wᵀ 22–24 against 18–19 TFLOP/s, the head's 27 against 22, MLA's odd widths 8–13
 * against 7–12; dy·Wᵀ 256 → C 9.4 against 9.8; session-3/run9-vec4-matmul/matmul-check.json); end to end the
 * two were within noise (57.6k/59.9k against 58.1k/57.1k tokens/s).
 */
const POLICY_TILE: TileShape = { tileM: 128, tileN: 128, vec4: true };

/** MLA_WEBGPU_MATMUL=tiled-wide: the tiled shader also takes x·W and the large weight gradients (set at registration). */
let policyWide = false;

interface Forced {
  tile: TileShape;
  split: boolean;
}

let registered = false;
let mode: 'auto' | 'off' | 'forced' = 'auto';
let forced: Forced | null = null;

/**
 * 'auto' applies choosePlan; 'off' leaves every product to tfjs; a Forced plan sends every float32 product
 * the shader can take through that tile shape (scripts/device/matmul-check.js compares them that way).
 */
export function setTiledMatMul(setting: 'auto' | 'off' | Forced): void {
  if (typeof setting === 'string') {
    mode = setting;
    forced = null;
  } else {
    mode = 'forced';
    forced = setting;
  }
}

/** The registration the environment asks for: MLA_WEBGPU_MATMUL=tiled (the default) or tiled-wide, or tfjs's shaders alone. */
export function tiledMatMulRequested(): boolean {
  const v = process.env.MLA_WEBGPU_MATMUL ?? 'tiled';
  if (v !== 'tfjs' && v !== 'tiled' && v !== 'tiled-wide') {
    throw new RangeError(`MLA_WEBGPU_MATMUL='${v}': expected 'tiled' (the default), 'tiled-wide' (also x·W and large weight gradients; not yet measured end to end) or 'tfjs'`);
  }
  return v !== 'tfjs';
}

/**
 * Puts the tiled shader in front of tfjs-backend-webgpu's BatchMatMul (tfjs's kernel still takes what the
 * policy leaves it, and int32 products), unless MLA_WEBGPU_MATMUL=tfjs.
 */
export function registerTiledMatMul(): void {
  if (registered || !tiledMatMulRequested()) return;
  policyWide = process.env.MLA_WEBGPU_MATMUL === 'tiled-wide';
  const original = tf.getKernel('BatchMatMul', 'webgpu');
  if (!original) return;
  const fallback = original.kernelFunc;
  tf.unregisterKernel('BatchMatMul', 'webgpu');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'webgpu',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const s = mode !== 'off' && a.dtype === 'float32' && b.dtype === 'float32' ? matMulShape(a.shape, b.shape, transposeA, transposeB) : null;
      const plan = !s ? null : forced ? planSplits(s, forced.tile, forced.split) : choosePlan(s, transposeA, transposeB);
      if (!s || !plan) return fallback(args);
      const out = tiledMatMul(args.backend, a, b, transposeA, transposeB, s, plan);
      const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
      return { ...out, shape: [...outer, s.M, s.N] }; // (…batch, M, N): the same buffer, viewed with the batch dims
    },
  });
  registered = true;
}
