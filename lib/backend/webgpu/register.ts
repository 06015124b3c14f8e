// The one registration list of the project's kernels on tfjs-backend-webgpu (one file per kernel in kernels/,
// each registered under its op's name from lib/ops): a fix to its AddN (add-n.ts), and shaders for dropout masks
// (dropout-mask.ts), matmul (matmul-kernel.ts), fused causal attention (flash-attention.ts),
// LayerNorm (layer-norm.ts), the gradient norm's Σ x² (sum-squares.ts), rotary embeddings (rope.ts), an
// in-place AdamW (adamw-inplace.ts), sums over leading axes for bias gradients (column-sums.ts), MLA's per-head
// q, k, v gathered from the projections (mla-heads.ts), the loss (cross-entropy.ts), the decode cache written in
// place (cache-write.ts), a decode step's attention against the cache, one dispatch per layer
// (decode-attention.ts), and its projections (LayerNorm, Q/K/V, bias, relu, residual: decode-linear.ts) and column
// gathers (heads and cache rows, rotated: decode-heads.ts), one dispatch each. Each replaces work that cost host time per op or GPU time per element on the
// H100/H200. MLA_WEBGPU_FUSED turns groups of them off and
// MLA_WEBGPU_MATMUL=tfjs the matmul shader: with both off (MLA_WEBGPU_FUSED=none MLA_WEBGPU_MATMUL=tfjs) every
// shader that runs is tfjs's own. The AddN fix stays on then, because it is not a shader of the project: it only
// calls tfjs's AddN shader on groups of inputs small enough to be valid (without it, the trainer's gradient norm
// reads as zeros).
import type { WebgpuSettings } from '../../settings';
import { registerTiledMatMul } from './kernels/matmul-kernel';
import { registerFlashAttention } from './kernels/flash-attention';
import { registerLayerNormKernels } from './kernels/layer-norm';
import { registerSumSquares } from './kernels/sum-squares';
import { registerRopeKernel } from './kernels/rope';
import { registerAddPositionsKernel } from './kernels/add-positions';
import { registerColumnSums } from './kernels/column-sums';
import { registerMlaHeadKernels } from './kernels/mla-heads';
import { registerCrossEntropyKernels } from './kernels/cross-entropy';
import { registerWebgpuInPlaceAdamW } from './kernels/adamw-inplace';
import { registerDropoutMask } from './kernels/dropout-mask';
import { groupAddN } from './kernels/add-n';
import { registerCacheWrite } from './kernels/cache-write';
import { registerDecodeAttention } from './kernels/decode-attention';
import { registerDecodeLinear } from './kernels/decode-linear';
import { registerDecodeHeads } from './kernels/decode-heads';
import { registerInPlaceAdamW } from '../../ops/adamw';
import { setDecodeLinearMaxRows } from '../../ops/decode-linear';

/** Registers those the settings ask for (after tfjs-backend-webgpu is loaded, before its backend is created). */
export function registerWebgpuKernels(settings: WebgpuSettings): void {
  groupAddN();
  registerTiledMatMul(settings);
  const fused = new Set(settings.fused);
  // Without the mask kernel lib/ops/dropout.ts makes the same mask on the host and uploads it.
  if (fused.has('dropout')) registerDropoutMask();
  if (fused.has('attention')) registerFlashAttention(settings.flashRows, settings.flashTileKiB * 1024);
  if (fused.has('layernorm')) registerLayerNormKernels();
  if (fused.has('norm')) registerSumSquares();
  if (fused.has('rope')) registerRopeKernel();
  // Without the in-place AdamW lib/train/adamw.ts updates through tfjs ops ('auto').
  if (fused.has('adamw')) registerWebgpuInPlaceAdamW();
  else registerInPlaceAdamW('webgpu', null);
  if (fused.has('sums')) registerColumnSums();
  if (fused.has('heads')) registerMlaHeadKernels();
  if (fused.has('loss')) registerCrossEntropyKernels();
  if (fused.has('cache')) registerCacheWrite();
  if (fused.has('decode')) registerDecodeAttention(settings.decodeSplitTiles, settings.decodeUnroll, settings.decodeShader);
  if (fused.has('step')) {
    registerDecodeLinear();
    setDecodeLinearMaxRows('webgpu', settings.decodeStepRows);
    registerDecodeHeads();
    registerAddPositionsKernel();
  }
}
