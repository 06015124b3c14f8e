import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getPreset } from '../../lib/config/presets';
import { resolveConfig } from '../../lib/config/presets';
import { DEFAULT_SCALE, SCALES, SCALE_NAMES, scale, scalePresets } from '../../lib/notebook/scale';

test('MLA_SCALE picks the scale; people get small by default', () => {
  assert.equal(scale(undefined, {}).name, DEFAULT_SCALE);
  assert.equal(DEFAULT_SCALE, 'small');
  assert.equal(scale(undefined, { MLA_SCALE: 'smoke' }).name, 'smoke');
  assert.equal(scale(undefined, { MLA_SCALE: ' paper ' }).name, 'paper');
  // An explicit name wins over the environment.
  assert.equal(scale('smoke', { MLA_SCALE: 'paper' }).name, 'smoke');
});

test('an unknown scale names the variable and the allowed values', () => {
  assert.throws(() => scale(undefined, { MLA_SCALE: 'huge' }), (err: Error) => {
    assert.equal(err.name, 'ConfigError');
    assert.match(err.message, /MLA_SCALE = "huge"/);
    assert.match(err.message, /smoke, small, gpu, paper/);
    return true;
  });
  assert.throws(() => scale('tiny', {}), /scale = "tiny"/);
});

test('MLA_DATA replaces the data spec, and the result is a copy', () => {
  const s = scale('small', { MLA_DATA: 'wikitext103:/data/wt103' });
  assert.equal(s.data, 'wikitext103:/data/wt103');
  s.noRope.presets.push('changed');
  s.noRope.train.tokens = 1;
  assert.notEqual(SCALES.small.noRope.train.tokens, 1);
  assert.ok(!SCALES.small.noRope.presets.includes('changed'));
  assert.equal(scale('small', {}).data, SCALES.small.data);
});

test('every scale names existing presets, and its sequences fit them', () => {
  for (const name of SCALE_NAMES) {
    const s = scale(name, {});
    assert.ok(scalePresets(s).length > 0);
    for (const exp of [s.noRope, s.rope, s.scaling]) {
      assert.ok(exp.presets.length > 0, `${name}: an experiment has no presets`);
      for (const p of exp.presets) {
        const c = resolveConfig(p);
        assert.ok(exp.train.seqLen <= c.maxSeqLen, `${name}: seqLen ${exp.train.seqLen} > ${p}'s maxSeqLen ${c.maxSeqLen}`);
      }
      // At least one optimizer step per run.
      assert.ok(exp.train.tokens >= exp.train.batchSize * exp.train.seqLen * exp.train.accumSteps);
    }
    assert.ok(s.seeds.length > 0);
    assert.ok(s.timing.lengths.length > 0 && s.timing.repeats >= 1);
  }
});

test('the experiments keep their positions: no-RoPE presets learn positions, RoPE presets rotate', () => {
  for (const name of SCALE_NAMES) {
    const s = scale(name, {});
    for (const p of [...s.noRope.presets, ...s.scaling.presets]) assert.equal(resolveConfig(p).positions, 'learned', p);
    for (const p of s.rope.presets) assert.equal(resolveConfig(p).positions, 'rope', p);
  }
  // The paper scale is the study's own models.
  for (const p of [...SCALES.paper.noRope.presets, ...SCALES.paper.rope.presets]) assert.ok(getPreset(p).experiment, p);
});
