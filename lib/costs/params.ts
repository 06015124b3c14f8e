// Parameter count as a pure function of the config, tensor by tensor, so a test can compare it with the
// variables a model really allocates. Layouts follow the checkpoint (README, "Checkpoint format").
import { ModelConfig, deriveSizes } from '../config/model-config';

export interface ParamCount {
  total: number;
  /** Token embedding V·C. */
  embedding: number;
  /** Learned position table maxSeqLen·C (0 with RoPE). */
  positions: number;
  /** Attention weights of one block (no biases: the original's projections have none). */
  attentionPerLayer: number;
  /** MLP of one block (weights and biases). */
  mlpPerLayer: number;
  /** The two LayerNorms of one block. */
  normsPerLayer: number;
  /** Untied output head C·V plus its bias. */
  head: number;
}

/** Shapes of one block's attention weights, by checkpoint name (without the `blocks.i.attn.` prefix). */
export function attentionShapes(c: ModelConfig): Record<string, number[]> {
  const s = deriveSizes(c);
  const C = c.dModel;
  const H = c.nHeads;
  const D = s.headDim;
  switch (c.attention) {
    case 'mha':
    case 'gqa':
    case 'mqa':
      return { w_q: [C, H * D], w_k: [C, s.kvHeads * D], w_v: [C, s.kvHeads * D], w_o: [H * D, C] };
    case 'mha-decoupled-rope':
      // Q and V from one projection; K = per-head no-RoPE part + one RoPE key shared by all heads.
      return { w_qv: [C, 2 * H * D], w_k: [C, H * s.nopeDim + s.rotaryDim], w_o: [H * D, C] };
    case 'mla': {
      // latentNorm 'none' (converted models) has no LayerNorm tensors on either latent.
      const norm = (name: string, width: number): Record<string, number[]> =>
        s.latentNorm ? { [`${name}.weight`]: [width], [`${name}.bias`]: [width] } : {};
      return {
        w_dq: [C, c.qRank],
        ...norm('q_norm', c.qRank),
        // Each query head is [nopeDim | rotaryDim] (all D dims are no-RoPE without RoPE).
        w_uq: [c.qRank, H * D],
        // The last rotaryDim columns project x straight to the shared RoPE key.
        w_dkv: [C, c.kvRank + s.rotaryDim],
        ...norm('kv_norm', c.kvRank),
        // Up-projection to per-head no-RoPE keys (H·nopeDim) then per-head values (H·D).
        w_ukv: [c.kvRank, H * s.nopeDim + H * D],
        w_o: [H * D, C],
      };
    }
  }
}

/** Every parameter tensor of the model with its shape, in checkpoint order. */
export function parameterShapes(c: ModelConfig): Record<string, number[]> {
  const s = deriveSizes(c);
  const C = c.dModel;
  const out: Record<string, number[]> = { tok_emb: [c.vocabSize, C] };
  if (s.learnedPositions) out.pos_emb = [c.maxSeqLen, C];
  const attn = attentionShapes(c);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blocks.${i}.`;
    out[`${p}ln1.weight`] = [C];
    out[`${p}ln1.bias`] = [C];
    for (const [k, shape] of Object.entries(attn)) out[`${p}attn.${k}`] = shape;
    out[`${p}ln2.weight`] = [C];
    out[`${p}ln2.bias`] = [C];
    out[`${p}mlp.w_in`] = [C, s.mlpHidden];
    out[`${p}mlp.b_in`] = [s.mlpHidden];
    out[`${p}mlp.w_out`] = [s.mlpHidden, C];
    out[`${p}mlp.b_out`] = [C];
  }
  out['head.weight'] = [C, c.vocabSize];
  out['head.bias'] = [c.vocabSize];
  return out;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const sumSizes = (shapes: Record<string, number[]>) => Object.values(shapes).reduce((a, s) => a + size(s), 0);

export function paramCount(c: ModelConfig): ParamCount {
  const s = deriveSizes(c);
  const C = c.dModel;
  const embedding = c.vocabSize * C;
  const positions = s.learnedPositions ? c.maxSeqLen * C : 0;
  const attentionPerLayer = sumSizes(attentionShapes(c));
  const mlpPerLayer = 2 * C * s.mlpHidden + s.mlpHidden + C;
  const normsPerLayer = 4 * C;
  const head = C * c.vocabSize + c.vocabSize;
  const total = embedding + positions + c.nLayers * (attentionPerLayer + mlpPerLayer + normsPerLayer) + head;
  return { total, embedding, positions, attentionPerLayer, mlpPerLayer, normsPerLayer, head };
}

/** Parameters excluding the embedding, position and head tables (the "non-embedding" count). */
export function nonEmbeddingParams(c: ModelConfig): number {
  const p = paramCount(c);
  return p.total - p.embedding - p.positions - p.head;
}

export { sumSizes as totalElements };
