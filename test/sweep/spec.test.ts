// A sweep file expands to the Cartesian product of its axes in file order, each run named by the folder the
// experiment runner gives it; a bad axis (unknown key or bad value) is refused with the axis named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config/presets';
import { datasetFor, runDirFor } from '../../lib/experiments/runs';
import { defaultDataRoot } from '../../lib/data/prepare';
import { expandSweep, parseSweep, readSweepFile } from '../../lib/sweep/spec';
import { planSweep, runAt } from '../../lib/sweep/plan';
import { mla, tempDir, tinyTrain, writeSweep } from './helpers';

const base = { preset: 'tiny-mla-rope', data: 'embedded', train: tinyTrain(4) };

test('axes expand in file order, the last fastest, and train/overrides axes merge into the base', () => {
  const points = expandSweep(parseSweep({ base, axes: { preset: ['tiny-mla-rope', 'tiny-mha-rope'], seed: [0, 1], 'train.lr': [0.001, 0.002] } }));
  assert.equal(points.length, 8);
  assert.deepEqual(points.map((p) => [p.spec.preset, p.spec.seed, p.spec.train.lr]).slice(0, 3), [
    ['tiny-mla-rope', 0, 0.001],
    ['tiny-mla-rope', 0, 0.002],
    ['tiny-mla-rope', 1, 0.001],
  ]);
  assert.equal(points[7].spec.train.batchSize, 4, 'the base train options stay');
  const ranks = expandSweep(parseSweep({ base, axes: { 'overrides.kvRank': [16, 32] } }));
  assert.deepEqual(ranks.map((p) => p.spec.overrides), [{ kvRank: 16 }, { kvRank: 32 }]);
});

test('a bad axis is refused with the axis named', () => {
  const refused = (axes: Record<string, unknown>, pattern: RegExp) => assert.throws(() => expandSweep(parseSweep({ base, axes })), pattern);
  refused({ preset: ['tiny-mla-rope', 'tiny-nope'] }, /sweep axis 'preset' value "tiny-nope" is refused: invalid config: preset = "tiny-nope"/);
  refused({ 'train.lrr': [0.1] }, /unknown sweep axis 'train\.lrr'/);
  refused({ colour: ['red'] }, /unknown sweep axis 'colour'/);
  refused({ 'overrides.kvRank': [16, -3] }, /sweep axis 'overrides\.kvRank' value -3 is refused/);
  refused({ 'overrides.nope': [1] }, /sweep axis 'overrides\.nope' value 1 is refused: invalid config: nope = 1; unknown config key/);
  refused({ 'train.batchSize': [0] }, /sweep axis 'train\.batchSize' value 0 is refused: invalid training option batchSize = 0/);
  refused({ seed: [-1] }, /sweep axis 'seed' value -1 is refused/);
  refused({ 'train.seqLen': [32, 128] }, /sweep axis 'train\.seqLen' value 128 is refused: .*maxSeqLen \(64\)/);
  refused({ seed: [] }, /sweep axis 'seed' must be a non-empty list/);
  refused({ seed: [1, 1] }, /sweep axis 'seed' repeats a value/);
  assert.throws(() => parseSweep({ base: { ...base, lr: 1 } }), /unknown key 'base\.lr'/);
  assert.throws(() => parseSweep({ base, axis: {} }), /unknown sweep key 'axis'/);
});

test('a combination that no single value breaks is refused naming the run and its axes', () => {
  // seqLen 64 is fine for the tiny presets; a preset axis value with a shorter context would break it.
  const sweep = parseSweep({ base: { data: 'embedded', train: { ...tinyTrain(4), seqLen: 64 } }, axes: { preset: ['tiny-mla-rope'], 'overrides.maxSeqLen': [64, 32] } });
  assert.throws(() => expandSweep(sweep), /sweep run 1 \(preset="tiny-mla-rope", overrides\.maxSeqLen=32\) is refused at base\.train\.seqLen: invalid training option seqLen = 64/);
});

test('run ids are the runner\'s folder names; the CLI refuses a bad file with the axis named', async () => {
  const dir = tempDir('mla-sweep-plan-');
  const file = writeSweep(dir, 'ids', { base, axes: { seed: [3, 4] } });
  const plan = await planSweep(readSweepFile(file), { runsDir: path.join(dir, 'runs') });
  const config = resolveConfig('tiny-mla-rope');
  const ds = await datasetFor('embedded', config.vocabSize, defaultDataRoot());
  for (const run of plan.runs) assert.equal(run.runDir, runDirFor(run.spec, config, ds.corpusHash, path.join(dir, 'runs')));
  assert.match(plan.runs[1].id, /^tiny-mla-rope-seed4-[0-9a-f]{10}$/);
  assert.equal(plan.runs[0].totalSteps, 4);
  assert.throws(() => runAt(plan, 2), /run index 2 is outside sweep 'ids', which has runs 0\.\.1/);

  const yaml = path.join(dir, 'bad.yaml');
  fs.writeFileSync(yaml, 'base:\n  preset: tiny-mla-rope\n  train: { tokens: 512 }\naxes:\n  train.schedule: [cosine, linear]\n');
  const r = mla(['sweep', 'plan', yaml]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^mla: sweep axis 'train\.schedule' value "linear" is refused: invalid training option schedule/);
  const count = mla(['sweep', 'plan', file, '--count', '--runs-dir', path.join(dir, 'runs')]);
  assert.equal(count.stdout.trim(), '2');
  fs.rmSync(dir, { recursive: true, force: true });
});
