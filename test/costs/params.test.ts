import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PRESET_NAMES, resolveConfig } from '../../lib/config/presets';
import { paramCount } from '../../lib/costs/params';
import { absorbedCallExpands, decodeFlopsPerToken, forwardFlopsPerToken, mlaAttentionFlops } from '../../lib/costs/flops';
import { createModel } from '../../lib/model/gpt';
import { useCpu } from '../helpers/models';

test('paramCount equals the variables a model allocates, for every tiny preset', async () => {
  await useCpu();
  for (const name of PRESET_NAMES.filter((n) => n.startsWith('tiny-'))) {
    const c = resolveConfig(name);
    const m = createModel(c, 0);
    const allocated = Object.values(m.params).reduce((a, p) => a + p.size, 0);
    assert.equal(allocated, paramCount(c).total, name);
    m.dispose();
  }
});

test('parameter counts match the study’s model sizes', () => {
  const millions = (p: string) => paramCount(resolveConfig(p)).total / 1e6;
  assert.equal(Math.round(millions('35m-mha-norope')), 36); // "35M": 35.98M with the learned position table
  assert.equal(Math.round(millions('35m-mqa-rope')), 32);
  assert.equal(Math.round(millions('300m-mha-norope')), 324);
  assert.equal(Math.round(millions('300m-mqa-norope')), 277);
  // MLA with the original's ranks is parameter-matched to MHA within 0.1%.
  const ratio = millions('35m-mla-norope') / millions('35m-mha-norope');
  assert.ok(Math.abs(ratio - 1) < 1e-3, `ratio ${ratio}`);
});

test('MHA: forward FLOPs per token ≈ 2 × matmul params + attention core', () => {
  const c = resolveConfig('35m-mha-norope');
  const matmulParams = 8 * (4 * 512 * 512 + 2 * 512 * 2048) + 512 * 10000;
  const core = 8 * 16 * 100 * 4 * 32;
  assert.equal(forwardFlopsPerToken(c, 100), 2 * matmulParams + core);
});

test('absorbed decoding costs less than latent re-expansion at long context, and does not grow with it as fast', () => {
  const c = resolveConfig('35m-mla-norope');
  const at = (n: number, m: 'latent' | 'absorbed' | 'full') => decodeFlopsPerToken(c, n, m);
  assert.ok(at(4096, 'absorbed') < at(4096, 'latent'));
  assert.ok(at(4096, 'latent') - at(1024, 'latent') > 10 * (at(4096, 'full') - at(1024, 'full')));
});

test('MLA attention FLOPs, absorbed against re-expanded: by hand for 35m-mla-rope, and the crossover in t', () => {
  const c = resolveConfig('35m-mla-rope'); // H 16, head dim 32, RoPE 16 of it (N 16), kvRank 341
  const [H, N, R, D, Rkv] = [16, 16, 16, 32, 341];
  const f = mlaAttentionFlops(c, 3, 1000);
  assert.equal(f.absorbed, H * 3 * (2 * N * Rkv + 1000 * (2 * Rkv + 2 * R + 2 * Rkv) + 2 * Rkv * D));
  assert.equal(f.expanded, 1000 * 2 * Rkv * (H * N + H * D) + H * 3 * 1000 * (2 * (N + R) + 2 * D));
  // A decode step stays absorbed at every context; a prefill piece of 2,048 tokens is cheaper re-expanded.
  for (const S of [512, 4096, 32768]) {
    assert.equal(absorbedCallExpands(c, 1, S), false, `t 1, S ${S}`);
    assert.equal(absorbedCallExpands(c, 2048, S), true, `t 2048, S ${S}`);
  }
  // The crossover: 2·Rkv·H·(N + D)·(S − t) = H·t·S·(4·Rkv + 2R − 2(N + R) − 2D), at t ≈ 26 for S = 8,192.
  assert.equal(absorbedCallExpands(c, 25, 8192), false);
  assert.equal(absorbedCallExpands(c, 27, 8192), true);
  assert.throws(() => mlaAttentionFlops(resolveConfig('35m-mha-rope'), 1, 1), /is not mla/);
});
