// The one place that maps an attention kind to its implementation; unknown kinds throw.
import { ModelConfig, deriveSizes } from '../config/model-config';
import { ConfigError } from '../config/validate';
import { createMhaFamily } from './mha';
import { createMhaDecoupledRope } from './mha-decoupled-rope';
import { createMla } from './mla';
import type { RopeTables } from './rope';
import type { AttentionLayer, WeightLookup } from './types';

export function createAttention(c: ModelConfig, w: WeightLookup, rope?: RopeTables): AttentionLayer {
  const { rotaryDim } = deriveSizes(c);
  if (rotaryDim > 0 && !rope) throw new Error(`attention '${c.attention}' with RoPE needs RoPE tables`);
  switch (c.attention) {
    case 'mha':
    case 'gqa':
    case 'mqa':
      return createMhaFamily(c, w, rope);
    case 'mha-decoupled-rope':
      return createMhaDecoupledRope(c, w, rope!);
    case 'mla':
      return createMla(c, w, rope);
    default:
      throw new ConfigError('attention', (c as ModelConfig).attention, 'no implementation for this attention kind');
  }
}
