// The fused operations: for each, its kernel names and attributes, the plain tfjs composition that is its
// reference, its gradient, and whether the active backend has its kernels. Model, attention and training code
// call these; backends (lib/backend/*) register kernels under these names and are imported by nothing here.
export { hasKernel } from './has-kernel';
export {
  LAYER_NORM_KERNEL, LAYER_NORM_DX_KERNEL, LAYER_NORM_SUMS_KERNEL, LAYER_NORM_MAX_WIDTH, type LayerNormAttrs,
  hasLayerNormKernel, layerNorm, layerNormReference,
} from './layer-norm';
export {
  CROSS_ENTROPY_KERNEL, CROSS_ENTROPY_GRAD_KERNEL, EXACT_FLAT_INDEX, hasCrossEntropyKernel, crossEntropyRows,
  crossEntropyOps,
} from './cross-entropy';
export { ADD_POSITIONS_KERNEL, type AddPositionsAttrs, addPositions, addPositionsReference } from './add-positions';
export { ROPE_KERNEL, type RopeAttrs, type RopeTables, hasRopeKernel, rope, ropeReference } from './rope';
export {
  FLASH_FORWARD_KERNEL, FLASH_DQ_KERNEL, FLASH_DKV_KERNEL, FLASH_MAX_DIM, type FlashAttrs, type FlashDims,
  flashUnsupported, hasFlashAttentionKernel, flashAttention, flashAttentionReference,
} from './flash-attention';
export {
  MLA_SPLIT_HEADS_KERNEL, MLA_SPLIT_HEADS_ROPE_KERNEL, MLA_MERGE_HEADS_KERNEL, MLA_MERGE_HEADS_ROPE_KERNEL,
  MLA_KEY_HEADS_KERNEL, MLA_KEY_ROPE_GRAD_KERNEL, type HeadLayoutAttrs, type KeyHeadsAttrs, type MlaHeadDims,
  hasMlaHeadKernels, mlaHeads, mlaHeadsReference,
} from './mla-heads';
export {
  DROPOUT_MASK_KERNEL, type DropoutMaskAttrs, hasDropoutMaskKernel, lowbias32, maskKey, elementHash, maskAttrs,
  maskValues, dropoutMask, dropout,
} from './dropout';
export {
  type AdamWStepConstants, type AdamWItem, type InPlaceItem, type InPlaceAdamW, adamwStepReference,
  registerInPlaceAdamW, inPlaceAdamW,
} from './adamw';
export {
  CACHE_WRITE_KERNEL, type CacheWriteAttrs, hasCacheWriteKernel, checkCacheWrite, cacheWrite, cacheWriteReference, CACHE_WRITE_FROM_KERNEL,
  type CacheWriteFromAttrs, type CacheWriteFromOptions, type CacheWriteSource, hasCacheWriteFromKernel, cacheWriteFrom, cacheRowsReference,
} from './cache-write';
export {
  decodeAttentionKernelName, DECODE_ATTENTION_MAX_WIDTH, DECODE_ATTENTION_MAX_ROWS, type DecodeAttentionAttrs, type DecodeTerm,
  type DecodeAttentionOptions, type DecodeAttentionDims, decodeAttentionUnsupported, decodeAttentionDims, hasDecodeAttentionKernel,
  checkDecodeAttention, decodeAttention, decodeAttentionReference,
} from './decode-attention';
export { type ContentsKey, dataVersion, markWritten, contentsKey, sameContents } from './data-version';
export { SUM_SQUARES_MAX_INPUTS, sumSquaresKernelName, hasSumSquaresKernel, sumsOfSquares, sumsOfSquaresReference } from './sum-squares';
export {
  DECODE_LINEAR_KERNEL, DECODE_LINEAR_MAX_ROWS, DECODE_LINEAR_MAX_WEIGHTS, DECODE_LINEAR_ROWS_LIMIT, decodeLinearMaxRows, setDecodeLinearMaxRows, type DecodeLinearAttrs, type DecodeLinearOptions, hasDecodeLinearKernel,
  checkDecodeLinear, decodeLinear, decodeLinearReference,
} from './decode-linear';
export {
  DECODE_HEADS_KERNEL, type ColumnSegment, type DecodeHeadsAttrs, hasDecodeHeadsKernel, decodeHeads, decodeHeadsReference,
} from './decode-heads';
