// latentNorm, the config field converted models need: optional (absent = the original LayerNorms, so configs,
// checkpoints and run hashes written before it are unchanged), MLA only, and without norm tensors when 'none'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOverrides, resolveConfig } from '../../lib/config/presets';
import { deriveSizes } from '../../lib/config/model-config';
import { attentionShapes, paramCount } from '../../lib/costs/params';

test('presets leave latentNorm out: their configs are what they were before the field existed', () => {
  const c = resolveConfig('tiny-mla-rope');
  assert.equal('latentNorm' in c, false);
  assert.equal(deriveSizes(c).latentNorm, true);
  assert.ok('kv_norm.weight' in attentionShapes(c) && 'q_norm.bias' in attentionShapes(c));
});

test("latentNorm 'none' drops both latent LayerNorms and their 2·(Rq + Rkv) parameters per layer", () => {
  const c = resolveConfig('tiny-mla-rope', parseOverrides(['latentNorm=none']));
  assert.equal(c.latentNorm, 'none');
  assert.equal(deriveSizes(c).latentNorm, false);
  assert.equal(Object.keys(attentionShapes(c)).some((k) => k.includes('norm')), false);
  const withNorm = resolveConfig('tiny-mla-rope');
  assert.equal(paramCount(withNorm).total - paramCount(c).total, c.nLayers * 2 * (c.qRank + c.kvRank));
});

test('latentNorm is checked: its values, and MLA only', () => {
  assert.throws(() => resolveConfig('tiny-mla-rope', { latentNorm: 'rms' as never }), /latentNorm = "rms"; allowed: layernorm, none/);
  assert.throws(() => resolveConfig('tiny-gqa-rope', { latentNorm: 'none' }), /latentNorm = "none"; only MLA has latents/);
});
