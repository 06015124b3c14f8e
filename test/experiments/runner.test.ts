// The experiment runner: the run list of a scale is pure and complete, the chosen learning rates are the sweep's
// argmin (and the committed gpu scale uses exactly those), a run stopped by the budget resumes to the same losses as
// an uninterrupted one, and a budget that would loop over a small corpus is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config/presets';
import { chooseLearningRates, experimentSpecs, finishedResultsFor, learningRateFor, runExperiment, runSpecs, scaleRunsDir } from '../../lib/experiments/runner';
import type { RunResult, RunSpec } from '../../lib/experiments/runs';
import { readMetrics } from '../../lib/train/run-dir';
import { projectRoot } from '../../lib/notebook/paths';
import { scale, SCALES } from '../../lib/notebook/scale';
import type { Scale } from '../../lib/notebook/scale';
import { useCpu } from '../helpers/models';

test('the gpu scale: the study presets at ≥ 16M tokens (35M) and ≥ 4M (300M beside 35M), a learning rate per swept kind', () => {
  const s = SCALES.gpu;
  for (const name of ['noRope', 'rope'] as const) {
    assert.ok(s[name].train.tokens >= 16_000_000);
    assert.equal(s[name].train.seqLen, 1024);
    assert.ok(s[name].presets.every((p) => p.startsWith('35m-')));
    assert.ok(s.seeds.length >= 3);
  }
  assert.ok(s.scaling.train.tokens >= 4_000_000);
  assert.deepEqual(s.scaling.presets.map((p) => p.replace(/^(35m|300m)-/, '')).sort(), ['mha-norope', 'mha-norope', 'mla-norope', 'mla-norope', 'mqa-norope', 'mqa-norope']);
  assert.match(s.description, /epochs/);
  // Every attention kind the experiments train has a swept rate, and the sweep covers every such kind.
  const kinds = new Set([...s.noRope.presets, ...s.rope.presets, ...s.scaling.presets].map((p) => resolveConfig(p).attention));
  for (const k of kinds) assert.ok(s.lr?.[k] !== undefined, `no rate for ${k}`);
  const swept = new Set(s.lrSweep!.presets.map((p) => resolveConfig(p).attention));
  for (const k of kinds) assert.ok(swept.has(k), `${k} not swept`);
});

test('experimentSpecs: presets × seeds in table order, each kind at its rate; the sweep is presets × rates at one seed', () => {
  const s = SCALES.gpu;
  const rope = experimentSpecs(s, 'rope');
  assert.equal(rope.length, s.rope.presets.length * s.seeds.length);
  assert.deepEqual(rope.slice(0, s.seeds.length).map((r) => r.seed), s.seeds);
  for (const r of rope) assert.equal(r.train.lr, s.lr![resolveConfig(r.preset).attention]);
  const sweep = experimentSpecs(s, 'lrSweep');
  assert.equal(sweep.length, s.lrSweep!.presets.length * s.lrSweep!.lrs.length);
  assert.ok(sweep.every((r) => r.seed === s.lrSweep!.seed && r.train.tokens === s.lrSweep!.train.tokens));
  assert.deepEqual(experimentSpecs(s, 'scaling').map((r) => r.seed), s.scaling.presets.map(() => 0));
  assert.equal(experimentSpecs(s, 'rope', { seeds: [7], presets: ['35m-mla-rope'] }).length, 1);
  assert.throws(() => experimentSpecs(s, 'rope', { presets: ['35m-mla-norope'] }), /presets = "35m-mla-norope".*35m-mha-rope/);
  assert.throws(() => experimentSpecs(SCALES.small, 'lrSweep'), /no learning-rate sweep/);
});

test('presetTrain: the ~300M trio of the gpu scaling run trains at its own rate and warm-up; the 35M trio keeps its kind’s', () => {
  const s = SCALES.gpu;
  const specs = experimentSpecs(s, 'scaling');
  const big = specs.filter((r) => r.preset.startsWith('300m-'));
  assert.equal(big.length, 3);
  for (const r of big) {
    assert.equal(r.train.lr, 3e-4, r.preset);
    assert.equal(r.train.warmupSteps, 50, r.preset);
    assert.equal(learningRateFor(s, s.scaling, r.preset), 3e-4);
  }
  // The 35M trio is unchanged (its folders are the design sweeps' and the convert study's sources).
  for (const r of specs.filter((x) => x.preset.startsWith('35m-'))) {
    assert.equal(r.train.lr, s.lr![resolveConfig(r.preset).attention], r.preset);
    assert.equal('warmupSteps' in r.train, false, r.preset);
  }
  // A preset the experiment does not train is refused (a typo would otherwise be ignored).
  const typo = scale('gpu');
  typo.scaling.presetTrain = { '300m-mla': { lr: 1e-4 } };
  assert.throws(() => experimentSpecs(typo, 'scaling'), /scaling\.presetTrain = "300m-mla"; not a preset of experiment scaling/);
});

const fakeResult = (preset: string, lr: number, valPerplexity: number): RunResult =>
  ({ spec: { preset, seed: 0, data: 'embedded', train: { tokens: 1, lr } }, config: resolveConfig(preset), valPerplexity }) as unknown as RunResult;

test('chooseLearningRates: the lowest validation perplexity per kind; ties go to the lower rate; NaN never wins', () => {
  const c = chooseLearningRates([
    fakeResult('35m-mha-rope', 1e-3, 200),
    fakeResult('35m-mha-rope', 2e-3, 150),
    fakeResult('35m-mha-rope', 4e-3, NaN),
    fakeResult('35m-mla-rope', 2e-3, 120),
    fakeResult('35m-mla-rope', 1e-3, 120),
  ]);
  assert.equal(c.mha?.lr, 2e-3);
  assert.equal(c.mla?.lr, 1e-3);
  assert.equal(c.mqa, undefined);
});

test('the committed gpu scale uses exactly the rates its committed sweep chose', () => {
  const s = SCALES.gpu;
  const sweep = finishedResultsFor(experimentSpecs(s, 'lrSweep'), scaleRunsDir(s, projectRoot()));
  assert.equal(sweep.length, experimentSpecs(s, 'lrSweep').length, 'every sweep run is committed in data/experiments/gpu');
  const chosen = chooseLearningRates(sweep);
  for (const [kind, v] of Object.entries(chosen)) assert.equal(s.lr?.[kind as keyof typeof chosen], v!.lr, kind);
});

/** A scale of one tiny experiment, for running the runner on the CPU. */
function tinyScale(): Scale {
  const s = scale('smoke', {});
  s.noRope = { presets: ['tiny-mla-norope'], train: { tokens: 8 * 2 * 32, batchSize: 2, seqLen: 32, accumSteps: 1, evalEvery: 4, evalTokens: 256, checkpointEvery: 0 } };
  s.lr = { mla: 3e-3 };
  return s;
}

test('runExperiment: a run stopped part-way resumes to the losses of an uninterrupted run; finished runs are reused', async () => {
  await useCpu();
  const s = tinyScale();
  const dirA = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-a-'));
  const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-b-'));
  try {
    const whole = await runExperiment(s, 'noRope', { runsDir: dirA, seeds: [3] });
    assert.equal(whole.results.length, 1);
    assert.equal(whole.pending.length, 0);
    assert.equal(whole.results[0].spec.train.lr, 3e-3);

    let steps = 0;
    const cut = await runExperiment(s, 'noRope', { runsDir: dirB, seeds: [3], hooks: { onStep: () => void steps++ }, shouldStop: () => steps >= 3 });
    assert.equal(cut.results.length, 0);
    assert.equal(cut.pending.length, 1);
    assert.ok(cut.stopped);
    const resumed = await runExperiment(s, 'noRope', { runsDir: dirB, seeds: [3] });
    assert.equal(resumed.results.length, 1);
    const losses = (dir: string) => readMetrics(dir).filter((m) => m.kind === 'train').map((m) => (m as { loss: number }).loss);
    assert.deepEqual(losses(resumed.results[0].runDir), losses(whole.results[0].runDir));
    assert.equal(resumed.results[0].valPerplexity, whole.results[0].valPerplexity);
    assert.equal(path.basename(resumed.results[0].runDir), path.basename(whole.results[0].runDir), 'same settings, same folder name');

    const again = await runExperiment(s, 'noRope', { runsDir: dirB, seeds: [3], budgetS: 1 });
    assert.equal(again.results[0].finishedAt, resumed.results[0].finishedAt, 'reused, not retrained');
  } finally {
    fs.rmSync(dirA, { recursive: true, force: true });
    fs.rmSync(dirB, { recursive: true, force: true });
  }
});

test('a budget of more than 10 epochs of the training split is refused, naming the fix', async () => {
  await useCpu();
  const tiny = { name: 'tiny', spec: { kind: 'embedded', name: 'embedded' }, corpusHash: 'x', tokenizerPath: '', splits: { train: new Uint16Array(100), val: new Uint16Array(100), test: new Uint16Array(10) }, tokenCounts: { train: 100, val: 100, test: 10 }, eotId: 0, vocabSize: 512 };
  const spec: RunSpec = { preset: 'tiny-mha-norope', seed: 0, data: 'embedded', train: { tokens: 1001, batchSize: 1, seqLen: 8 } };
  await assert.rejects(runSpecs('x', [spec], { dataset: tiny as never, runsDir: os.tmpdir() }), /train\.tokens = 1001.*10\.0 epochs.*wikitext103/);
});

test('studyLr: Experiment 1’s MLA and MHA at the study’s 6e-4 over Experiment 1’s budget; absent scales say so', () => {
  const s = scale('gpu', {});
  const specs = experimentSpecs(s, 'studyLr');
  assert.deepEqual(specs.map((sp) => [sp.preset, sp.train.lr, sp.seed]), [['35m-mla-norope', 6e-4, 0], ['35m-mha-norope', 6e-4, 0]]);
  const exp1 = experimentSpecs(s, 'noRope', { presets: ['35m-mla-norope'], seeds: [0] })[0];
  assert.deepEqual({ ...specs[0].train, lr: undefined }, { ...exp1.train, lr: undefined }, 'the same budget as Experiment 1, only the rate differs');
  assert.notEqual(exp1.train.lr, 6e-4);
  assert.throws(() => experimentSpecs(scale('small', {}), 'studyLr'), /experiment = "studyLr".*no study-rate check/);
});
