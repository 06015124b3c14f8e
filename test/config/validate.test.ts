// Each validation rule raises its message, naming the field, the bad value and what is allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../lib/config/validate';
import { PRESET_NAMES, getPreset, parseOverrides, resolveConfig } from '../../lib/config/presets';

const cases: [string, string | undefined, Record<string, unknown>, RegExp][] = [
  ['heads not dividing the model dim', '35m-mha-norope', { nHeads: 7 }, /nHeads = 7; must divide dModel = 512/],
  ['KV heads not dividing heads', '35m-gqa-norope', { nKvHeads: 3 }, /nKvHeads = 3; must divide nHeads = 16/],
  ['MQA with more than one KV head', '35m-mqa-norope', { nKvHeads: 2 }, /attention 'mqa' needs nKvHeads = 1/],
  ['an odd RoPE dim', '35m-mla-rope', { ropeDim: 15 }, /ropeDim = 15; must be even/],
  ['a RoPE dim wider than the head', '35m-mla-rope', { ropeDim: 34 }, /0 < ropeDim ≤ head dim \(32\)/],
  ['a zero rank', '35m-mla-norope', { kvRank: 0 }, /kvRank = 0; must be an integer in 1..dModel \(512\)/],
  ['a rank above the model dim', '35m-mla-norope', { qRank: 600 }, /qRank = 600; must be an integer in 1..dModel/],
  ['ranks on a non-MLA model', '35m-mha-norope', { qRank: 10 }, /only MLA has latent ranks/],
  ['an unknown attention kind', '35m-mha-norope', { attention: 'flash' }, /attention = "flash"; allowed: mha, gqa, mqa, mla, mha-decoupled-rope/],
  ['unknown positions', '35m-mha-norope', { positions: 'alibi' }, /positions = "alibi"; allowed: learned, rope/],
  ['a negative dropout', '35m-mha-norope', { dropout: -0.1 }, /dropout = -0.1; must be a number in \[0, 1\)/],
  ['RoPE dims with learned positions', '35m-mha-norope', { ropeDim: 16 }, /ropeDim = 16; must be 0 with positions = 'learned'/],
  ['an unknown key', '35m-mha-norope', { nLayer: 3 }, /nLayer = 3; unknown config key; known keys: .*nLayers/],
  ['a fractional layer count', '35m-mha-norope', { nLayers: 2.5 }, /nLayers = 2.5; must be a positive integer/],
];

for (const [what, preset, overrides, message] of cases) {
  test(`validation: ${what}`, () => {
    assert.throws(() => resolveConfig(preset, overrides as never), (e: unknown) => {
      assert.ok(e instanceof ConfigError, 'a ConfigError');
      assert.match(e.message, message);
      return true;
    });
  });
}

test('an unknown preset lists the known ones', () => {
  assert.throws(() => getPreset('35m-mla'), /preset = "35m-mla"; known presets: 35m-mha-rope/);
});

test('--set overrides are typed and checked', () => {
  assert.deepEqual(parseOverrides(['nLayers=3', 'attention=mqa']), { nLayers: 3, attention: 'mqa' });
  assert.throws(() => parseOverrides(['nLayers=three']), /nLayers = "three"; must be a number/);
  assert.throws(() => parseOverrides(['nLayers']), /expected key=value/);
  assert.equal(resolveConfig('35m-mha-norope', parseOverrides(['attention=mqa'])).nKvHeads, 1);
});

test('every preset resolves to a valid config', () => {
  for (const name of PRESET_NAMES) assert.doesNotThrow(() => resolveConfig(name), name);
});
