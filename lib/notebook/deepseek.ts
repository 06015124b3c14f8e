// DeepSeek-V2 and -V3 attention sizes as published, for comparing the lab's KV-cache numbers with production
// MLA. They are not presets: their heads are wider than d_model / n_heads (128 no-RoPE + 64 RoPE dims for
// queries and keys, 128 for values), which ModelConfig does not describe.
import { DEFAULT_CONFIG, ModelConfig } from '../config/model-config';

export interface PublishedMla {
  name: string;
  /** Where the numbers come from. */
  source: string;
  layers: number;
  heads: number;
  hiddenSize: number;
  /** d_c: width of the cached KV latent. */
  kvRank: number;
  /** d'_c: width of the query latent. */
  qRank: number;
  /** d_h: per-head width of the no-RoPE query/key part and of the values. */
  headDim: number;
  /** d_h^R: width of the RoPE key shared by all heads (and of each head's RoPE query part). */
  ropeHeadDim: number;
  /** The paper's KV cache per token and layer, in elements: d_c + d_h^R. */
  publishedKvPerTokenPerLayer: number;
  /** The paper's comparison point, MHA with the same heads: 2 · n_h · d_h elements per token and layer. */
  publishedMhaKvPerTokenPerLayer: number;
}

export const DEEPSEEK_MLA: Record<'DeepSeek-V2' | 'DeepSeek-V3', PublishedMla> = {
  'DeepSeek-V2': {
    name: 'DeepSeek-V2',
    source: 'DeepSeek-V2 technical report (arXiv:2405.04434), §2.1 and Table 1; config.json of deepseek-ai/DeepSeek-V2',
    layers: 60,
    heads: 128,
    hiddenSize: 5120,
    kvRank: 512,
    qRank: 1536,
    headDim: 128,
    ropeHeadDim: 64,
    publishedKvPerTokenPerLayer: 576,
    publishedMhaKvPerTokenPerLayer: 32768,
  },
  'DeepSeek-V3': {
    name: 'DeepSeek-V3',
    source: 'DeepSeek-V3 technical report (arXiv:2412.19437), §2.1 and §4.2; config.json of deepseek-ai/DeepSeek-V3',
    layers: 61,
    heads: 128,
    hiddenSize: 7168,
    kvRank: 512,
    qRank: 1536,
    headDim: 128,
    ropeHeadDim: 64,
    publishedKvPerTokenPerLayer: 576,
    publishedMhaKvPerTokenPerLayer: 32768,
  },
};

/**
 * ModelConfigs with the same cache sizes as the published model, for lib/costs' kvCache* functions only:
 * `mla` caches the latent plus the shared RoPE key; `mha` is the paper's comparison point (n_h heads of d_h for
 * K and V). dModel is set to heads · headDim (not the real hidden size) because the cost functions derive the
 * head dim as dModel / nHeads; parameter and FLOP counts of these configs mean nothing.
 */
export function deepseekCacheConfigs(m: PublishedMla): { mla: ModelConfig; mha: ModelConfig } {
  const shape = { ...DEFAULT_CONFIG, dModel: m.heads * m.headDim, nHeads: m.heads, nLayers: m.layers, positions: 'rope' as const };
  return {
    mla: { ...shape, attention: 'mla', nKvHeads: m.heads, qRank: m.qRank, kvRank: m.kvRank, ropeDim: m.ropeHeadDim },
    mha: { ...shape, attention: 'mha', nKvHeads: m.heads, ropeDim: 0 },
  };
}
