// Which BatchMatMul products on WebGPU go to the project's tiled shaders (matmul.ts, and its pipelined
// variant matmul-pipelined.ts) and which stay with tfjs's, and the kernel registration that applies it.
// The policy comes from scripts/device/matmul-check.js (data/bench/device/session-2/, session-3/, session-4/):
// each rule below names the measurement behind it.
// Defaults (session 4, H200, 35m-mla-rope, alternating runs in one call): the pipelined shader taking x·W and
// the large weight gradients as well (MLA_WEBGPU_MATMUL=tiled-wide, MLA_WEBGPU_MATMUL_SHADER=pipelined) ran
// at 71.4k/67.4k tokens/s against 65.2k/64.3k for the staged shader on A·Bᵀ and odd widths only (the
// previous default), 66.8k/67.8k for the staged shader with the wide policy, 66.4k/66.1k for the pipelined
// one with the narrow policy. MLA_WEBGPU_MATMUL=tfjs leaves every product to tfjs.
import * as tf from '@tensorflow/tfjs-core';
import { type MatMulPlan, type MatMulShape, type TileShape, matMulShape, planSplits, tiledMatMul } from './matmul';
import type { MatMulShader, WebgpuSettings } from '../../../settings';

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
export function choosePlan(s: MatMulShape, transposeA: boolean, transposeB: boolean, tile: TileShape = PIPELINED_TILE, wide = true): MatMulPlan | null {
  if (s.M < 64 || s.N < 64 || s.K < 16) return null;
  if (!transposeA && transposeB) return planSplits(s, tile);
  // A dim off the multiple of 4 that tfjs's vec4 shaders need (MLA's 341-wide latent and 357-wide down-projection):
  // tfjs falls back to a scalar shader, 4.4–5.4 TFLOP/s on those weight gradients on the H200.
  if (s.M % 4 !== 0 || s.N % 4 !== 0 || s.K % 4 !== 0) return planSplits(s, tile);
  if (wide) {
    // MLA_WEBGPU_MATMUL=tiled-wide (the default). Per product, pipelined shader (session-4/run1-pipelined):
    // x·W 4C → C 25.8 against tfjs's 19.0 TFLOP/s, the head 31.0 against 22.7; the large weight gradients, K
    // split, 18.7–20.2 against 14.4–15.4 (on the small ones C × C they tie, 12.9 against 12.3–13.3).
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
const VEC4_TILE: TileShape = { tileM: 128, tileN: 128, vec4: true };
/**
 * The same tile through the pipelined shader (matmul-pipelined.ts) at 8 of K a stage, the default: per product
 * 1.0–1.2× the staged one on the products the policy takes (session-4/run1-pipelined/matmul-check.json, at depth
 * 16), depth 8 1.05–1.2× depth 16 (policyTile).
 */
const PIPELINED_TILE: TileShape = { ...VEC4_TILE, pipelined: true, depth: 8 };

/**
 * The tile of MLA_WEBGPU_MATMUL_SHADER ('pipelined', the only value left) at MLA_WEBGPU_MATMUL_DEPTH's K per stage.
 * The policy's staged variant (VEC4_TILE, two barriers per K stage, loads not overlapped) lost by 1–5% end to end
 * (dev/README.md); its shader stays in matmul.ts as the base of the scalar and vec4 tiles that `mla bench
 * matmul-check` forces. Depth 8 against 16 (H100, one call, data/bench/device/matmul-depth-piped-2026-12-07f-h100/):
 * x·W 26.8–27.9 against 23.4–24.1 TFLOP/s, the head 35.2 against 30.6, 4096² 37.2 against 30.9, MLA's odd widths
 * split 10.4–18.0 against 8.5–15.3; the small weight gradients tie.
 */
export function policyTile(_shader: MatMulShader, depth: 8 | 16 = 8): TileShape {
  return depth === 8 ? PIPELINED_TILE : { ...PIPELINED_TILE, depth };
}

interface Forced {
  tile: TileShape;
  split: boolean;
  /** Workgroups split-K aims for (planSplits' default otherwise). */
  target?: number;
}

/** Which plan a product gets, or null for tfjs's kernel. */
type Chooser = (s: MatMulShape, transposeA: boolean, transposeB: boolean) => MatMulPlan | null;

/** The kernel function registered over tfjs's BatchMatMul carries tfjs's, so registering again wraps the original, not itself. */
type TiledKernelFunc = tf.KernelFunc & { tfjsKernel: tf.KernelFunc };

/**
 * a·b on the tiled shader when the chooser takes the product (float32 only), as (…batch, M, N): the same buffer,
 * viewed with the batch dims; null leaves it to tfjs's kernel.
 */
function tiledProduct(args: Parameters<tf.KernelFunc>[0], a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, choose: Chooser): tf.TensorInfo | null {
  const s = a.dtype === 'float32' && b.dtype === 'float32' ? matMulShape(a.shape, b.shape, transposeA, transposeB) : null;
  const plan = s ? choose(s, transposeA, transposeB) : null;
  if (!s || !plan) return null;
  const out = tiledMatMul(args.backend, a, b, transposeA, transposeB, s, plan);
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { ...out, shape: [...outer, s.M, s.N] };
}

/** Registers `make(tfjs's kernel)` over tfjs-backend-webgpu's `name` (again: over tfjs's, never over itself). */
function wrapKernel(name: string, make: (fallback: tf.KernelFunc) => tf.KernelFunc): void {
  const current = tf.getKernel(name, 'webgpu');
  if (!current) return;
  const fallback = (current.kernelFunc as Partial<TiledKernelFunc>).tfjsKernel ?? current.kernelFunc;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: Object.assign(make(fallback), { tfjsKernel: fallback }) });
}

/**
 * Puts the tiled shader in front of tfjs-backend-webgpu's BatchMatMul (tfjs's kernel still takes what the
 * chooser leaves it, and int32 products), and the same policy in front of _FusedMatMul (lib/model/layers.ts's
 * linear sends bias and relu there outside a gradient tape): a product the chooser takes runs on the tiled shader,
 * then the bias add and the activation as their own kernels (what the unfused ops ran); the rest, decoding's single
 * rows among them, stays with tfjs's kernel, whose epilogue adds the bias and applies the activation in the same
 * dispatch. The policy lives in the registered closures, not in module state.
 */
function installMatMul(choose: Chooser): void {
  wrapKernel('BatchMatMul', (fallback) => (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return tiledProduct(args, a, b, transposeA, transposeB, choose) ?? fallback(args);
  });
  wrapKernel('_FusedMatMul', (fallback) => (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as unknown as tf._FusedMatMulInputs;
    const { transposeA, transposeB, activation } = args.attrs as unknown as tf._FusedMatMulAttrs;
    const simple = (activation === 'linear' || activation === 'relu') && !preluActivationWeights;
    const product = simple ? tiledProduct(args, a, b, transposeA, transposeB, choose) : null;
    if (!product) return fallback(args);
    const backend = args.backend as unknown as { disposeData(id: tf.DataId): void };
    const then = (x: tf.TensorInfo, name: string, inputs: tf.NamedTensorInfoMap) => {
      const y = tf.getKernel(name, 'webgpu')!.kernelFunc({ inputs, backend: args.backend, attrs: {} }) as tf.TensorInfo;
      backend.disposeData(x.dataId);
      return y;
    };
    let out = product;
    if (bias) out = then(out, 'Add', { a: out, b: bias });
    if (activation === 'relu') out = then(out, 'Relu', { x: out });
    return out;
  });
}

/** The chooser of the settings' policy: MLA_WEBGPU_MATMUL (tiled-wide or tiled) with MLA_WEBGPU_MATMUL_SHADER's tile. */
function policyChooser(w: Pick<WebgpuSettings, 'matmul' | 'matmulShader' | 'matmulDepth'>): Chooser {
  const tile = policyTile(w.matmulShader, w.matmulDepth);
  const wide = w.matmul === 'tiled-wide';
  return (s, tA, tB) => choosePlan(s, tA, tB, tile, wide);
}

/**
 * The registration the settings ask for: MLA_WEBGPU_MATMUL=tiled-wide (the default: A·Bᵀ, odd widths, x·W and
 * large weight gradients), tiled (A·Bᵀ and odd widths only), or tfjs (tfjs's kernel left as it is).
 */
export function registerTiledMatMul(w: Pick<WebgpuSettings, 'matmul' | 'matmulShader' | 'matmulDepth'>): void {
  if (w.matmul === 'tfjs') return;
  installMatMul(policyChooser(w));
}

/**
 * For comparisons (scripts/device/matmul-check.js): 'auto' applies the settings' policy; 'off' leaves every
 * product to tfjs; a Forced plan sends every float32 product the shader can take through that tile shape.
 */
export function setTiledMatMul(setting: 'auto' | 'off' | Forced, w: Pick<WebgpuSettings, 'matmul' | 'matmulShader' | 'matmulDepth'>): void {
  if (setting === 'off') installMatMul(() => null);
  else if (setting === 'auto') installMatMul(w.matmul === 'tfjs' ? () => null : policyChooser(w));
  else installMatMul((s) => planSplits(s, setting.tile, setting.split, setting.target));
}
