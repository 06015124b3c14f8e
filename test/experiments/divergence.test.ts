// A run whose loss diverges is an outcome of the experiment, not an abort: the runner records it (diverged.json
// beside the metrics that show the blow-up), goes on with the next run, reports it, and a rerun does not train
// it again (force does); what reads run states (the sweep's rate choice, a notebook's listing, a design study)
// takes a diverged folder for what it is. Tiny models on the CPU, made to diverge by a huge learning rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config/presets';
import { designStudyStatus, runDesignStudy, StudyError } from '../../lib/experiments/design-studies';
import { experimentSpecs, modelOf, runSpecs, runStatuses, withSweptLearningRates } from '../../lib/experiments/runner';
import { DIVERGED_FILE, type DivergedRun, ensureRun, RESULT_FILE, type RunSpec, setAsideUnresumable, supersededDivergence } from '../../lib/experiments/runs';
import { scaleExperiment } from '../../lib/notebook/experiment';
import { projectRoot } from '../../lib/notebook/paths';
import { scale } from '../../lib/notebook/scale';
import { DivergenceError } from '../../lib/train/errors';
import { readMetrics } from '../../lib/train/run-dir';
import type { StepMetrics } from '../../lib/train/types';
import { useCpu } from '../helpers/models';

const TRAIN = { tokens: 8 * 2 * 32, batchSize: 2, seqLen: 32, accumSteps: 1, evalEvery: 0, evalTokens: 256, checkpointEvery: 0 };
// lr 10 from the first step (no warm-up) blows the loss far above ln(V) + 2 at once; two insane steps stop it.
const doomed: RunSpec = { preset: 'tiny-mla-norope', seed: 0, data: 'embedded', train: { ...TRAIN, lr: 10, warmupSteps: 1, divergenceSteps: 2 } };
const sane: RunSpec = { preset: 'tiny-mla-norope', seed: 0, data: 'embedded', train: { ...TRAIN, lr: 3e-3 } };
const CEILING = Math.log(resolveConfig('tiny-mla-norope').vocabSize) + 2;

const trainLosses = (dir: string) => readMetrics(dir).filter((m): m is StepMetrics => m.kind === 'train').map((m) => m.loss);

test('runSpecs: the first run diverges and is recorded, the second still finishes; a rerun does not retrain it, force does', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-diverge-'));
  try {
    const lines: string[] = [];
    let steps = 0;
    const o = { runsDir, log: (l: string) => void lines.push(l), hooks: { onStep: () => void steps++ } };
    const r = await runSpecs('exp', [doomed, sane], o);

    assert.equal(r.results.length, 1, 'the run after the diverged one still trained');
    assert.equal(r.results[0].spec.train.lr, 3e-3);
    assert.ok(Number.isFinite(r.results[0].valPerplexity));
    assert.deepEqual(r.pending, []);
    assert.equal(r.stopped, false);
    assert.equal(r.diverged.length, 1);
    const d = r.diverged[0];
    assert.deepEqual(d.spec, doomed);
    assert.match(d.message, /^training diverged: loss \S+ at step \d+ is above ln\(V\) \+ 2 = \d+\.\d\d for 2 steps in a row \(since step (\d+)\); no checkpoint was written; lower --lr/);
    assert.equal(d.step, Number(/since step (\d+)/.exec(d.message)![1]), 'the step the insane streak started');
    assert.ok(lines.some((l) => l === `[1/2] exp tiny-mla-norope seed 0 lr 10: diverged at step ${d.step}: ${d.message}`), lines.join('\n'));

    // The folder is the record: diverged.json, no result.json, and the metrics with the blow-up in them.
    assert.ok(fs.existsSync(d.runDir) && d.runDir !== r.results[0].runDir);
    assert.equal(fs.existsSync(path.join(d.runDir, RESULT_FILE)), false);
    const file = path.join(d.runDir, DIVERGED_FILE);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as DivergedRun;
    assert.deepEqual(rec.spec, doomed);
    assert.equal(rec.message, d.message);
    assert.equal(rec.step, d.step);
    assert.ok(typeof rec.loss === 'number' && rec.loss > CEILING, `loss ${rec.loss}`);
    assert.equal(rec.lossText, String(rec.loss));
    assert.equal(rec.lr, 10);
    assert.equal(rec.backend, 'cpu');
    assert.ok(rec.device.length > 0);
    assert.ok(Date.now() - Date.parse(rec.finishedAt) < 600_000);
    assert.ok(Math.max(...trainLosses(d.runDir)) > CEILING, 'metrics.jsonl keeps the insane steps');
    assert.deepEqual(
      (await runStatuses([doomed, sane], { runsDir })).map((s) => [s.state, s.diverged?.step]),
      [['diverged', d.step], ['done', undefined]],
    );

    // Again: nothing trains; the same divergence is reported from the file.
    const metricsFile = path.join(d.runDir, 'metrics.jsonl');
    const before = { metrics: fs.readFileSync(metricsFile, 'utf8'), mtime: fs.statSync(metricsFile).mtimeMs, record: fs.readFileSync(file, 'utf8') };
    steps = 0;
    const again = await runSpecs('exp', [doomed, sane], o);
    assert.equal(steps, 0, 'no step was trained');
    assert.equal(again.results[0].finishedAt, r.results[0].finishedAt, 'the finished run is reused');
    assert.equal(again.diverged.length, 1);
    assert.equal(again.diverged[0].step, d.step);
    assert.equal(again.diverged[0].runDir, d.runDir);
    assert.equal(again.diverged[0].message, `diverged before (${file}): ${d.message}; it is not retrained: change its rate (another folder) or pass --force to retrain this one`);
    assert.equal(fs.readFileSync(metricsFile, 'utf8'), before.metrics);
    assert.equal(fs.statSync(metricsFile).mtimeMs, before.mtime);
    assert.equal(fs.readFileSync(file, 'utf8'), before.record, 'diverged.json is not rewritten');
    await assert.rejects(ensureRun(doomed, { runsDir }), (e: unknown) => {
      assert.ok(e instanceof DivergenceError);
      assert.equal(e.name, 'TrainingError', 'printed by the CLI as one line');
      assert.equal(e.step, rec.step);
      assert.equal(e.loss, rec.loss);
      return true;
    });

    // force: the folder is moved aside (kept) and the run trains again, diverging again.
    steps = 0;
    const forced = await runSpecs('exp', [doomed], { ...o, force: true });
    assert.ok(steps > 0, 'retrained');
    assert.equal(forced.diverged.length, 1);
    assert.match(forced.diverged[0].message, /^training diverged: /);
    const aside = fs.readdirSync(runsDir).filter((n) => n.startsWith(`${path.basename(d.runDir)}.replaced-`));
    assert.equal(aside.length, 1);
    assert.equal(fs.readFileSync(path.join(runsDir, aside[0], DIVERGED_FILE), 'utf8'), before.record, 'the old record is kept aside');
    assert.notEqual(fs.readFileSync(file, 'utf8'), before.record, 'a new record');
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('ensureRun: a non-finite loss is recorded as loss null with its text; the folder is not set aside as unresumable', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-diverge-nan-'));
  try {
    const nan: RunSpec = { ...doomed, train: { ...doomed.train, lr: 1e30 } };
    let first: DivergenceError | undefined;
    await assert.rejects(ensureRun(nan, { runsDir }), (e: unknown) => {
      assert.ok(e instanceof DivergenceError);
      assert.match(e.message, /^training diverged: loss is NaN at step (\d+); /);
      assert.equal(e.step, Number(/at step (\d+)/.exec(e.message)![1]), 'the step of the non-finite loss');
      first = e;
      return true;
    });
    const [dir] = fs.readdirSync(runsDir);
    const rec = JSON.parse(fs.readFileSync(path.join(runsDir, dir, DIVERGED_FILE), 'utf8')) as DivergedRun;
    assert.equal(rec.loss, null);
    assert.equal(rec.lossText, 'NaN');
    assert.equal(rec.step, first!.step);
    // No checkpoint was written, which would make an interrupted run's folder be moved aside and retrained.
    await assert.rejects(ensureRun(nan, { runsDir }), (e: unknown) => e instanceof DivergenceError && Number.isNaN(e.loss) && /^diverged before/.test(e.message));
    assert.deepEqual(fs.readdirSync(runsDir), [dir], 'the same folder, nothing set aside');
    // Nor by a sweep, which sets such folders aside itself before it calls ensureRun (lib/sweep/run-one.ts).
    setAsideUnresumable(path.join(runsDir, dir));
    assert.deepEqual(fs.readdirSync(runsDir), [dir]);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

/** A diverged.json in `dir`, as a GPU call brings one back (no metrics, no checkpoint). */
function markDiverged(dir: string, step: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const message = `training diverged: loss is NaN at step ${step}; no checkpoint was written; lower --lr and start a new run`;
  fs.writeFileSync(path.join(dir, DIVERGED_FILE), JSON.stringify({ spec: {}, message, step, loss: null, lossText: 'NaN', lr: null, backend: 'webgpu', device: 'h200', finishedAt: '2026-12-01T00:00:00.000Z' }));
}

test('what reads run states: a diverged sweep rate is a finished point, a notebook lists diverged runs apart, a study refuses a diverged source', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-diverge-states-'));
  try {
    // --lr-from-sweep: the diverged rate is neither chosen nor "unfinished"; a kind whose every rate diverged is named.
    const s = scale('smoke', {});
    s.lrSweep = { presets: ['tiny-mla-norope'], lrs: [1e-3, 10], seed: 0, train: { tokens: 512, batchSize: 2, seqLen: 32, accumSteps: 1, evalEvery: 0, evalTokens: 256 } };
    const [low, high] = await runStatuses(experimentSpecs(s, 'lrSweep'), { runsDir });
    await assert.rejects(withSweptLearningRates(s, { runsDir }), /has 2 unfinished runs/);
    markDiverged(high.dir, 3);
    markDiverged(low.dir, 5);
    await assert.rejects(withSweptLearningRates(s, { runsDir }), /lr = "from-sweep"; every swept rate of mla in the sweep of scale smoke diverged .*; add lower rates to the sweep/);
    fs.rmSync(path.join(low.dir, DIVERGED_FILE));
    fs.writeFileSync(path.join(low.dir, RESULT_FILE), JSON.stringify({ spec: low.spec, config: resolveConfig('tiny-mla-norope'), valPerplexity: 300 }));
    assert.equal((await withSweptLearningRates(s, { runsDir })).lr?.mla, 1e-3);

    // A notebook at a GPU scale on the CPU lists the runs: the diverged one apart, not pending, not silently gone.
    const g = { ...scale('smoke', {}), name: 'gpu' as const, runsDir: path.relative(projectRoot(), runsDir) };
    const specs = experimentSpecs(g, 'noRope', { seeds: [0] });
    const statuses = await runStatuses(specs, { runsDir });
    markDiverged(statuses[1].dir, 4);
    const printed: string[] = [];
    const log = console.log;
    console.log = (line: string) => void printed.push(line);
    let shown;
    try {
      shown = await scaleExperiment(g, 'noRope', { seeds: [0], env: {} });
    } finally {
      console.log = log;
    }
    assert.deepEqual(shown.pending, [specs[0], specs[2]]);
    assert.deepEqual(shown.diverged, [{ spec: specs[1], runDir: statuses[1].dir, step: 4, message: 'training diverged: loss is NaN at step 4; no checkpoint was written; lower --lr and start a new run' }]);
    assert.deepEqual(printed, [`1 run diverged and is left out of the results: ${specs[1].preset} seed 0 at step 4 (${path.basename(statuses[1].dir)})`]);

    // A design study needs every source: diverged ones are one StudyError naming the first, and nothing trains.
    const st = await designStudyStatus(g, 'latentQuant', { runsDir });
    st.sources.forEach((x, i) => markDiverged(x.dir, 10 + i));
    assert.deepEqual((await designStudyStatus(g, 'latentQuant', { runsDir })).sources.map((x) => x.state), st.sources.map(() => 'diverged'));
    await assert.rejects(runDesignStudy(g, 'latentQuant', { runsDir }), (e: unknown) => {
      assert.ok(e instanceof StudyError);
      assert.equal(e.message, `latentQuant: source run ${st.sources[0].dir} (${modelOf(st.sources[0].spec)} seed 0) diverged at step 10, so the study has nothing to compute from: diverged before (${path.join(st.sources[0].dir, DIVERGED_FILE)}): training diverged: loss is NaN at step 10; no checkpoint was written; lower --lr and start a new run; it is not retrained: change its rate (another folder) or pass --force to retrain this one`);
      return true;
    });
    assert.ok(st.sources.every((x) => !fs.existsSync(path.join(x.dir, 'metrics.jsonl'))), 'no source trained');
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('supersededDivergence: a streak verdict of a less patient guard than the spec has now no longer stands; a non-finite one does', () => {
  const rec = (divergenceSteps: number | null | undefined, message: string): DivergedRun => ({
    spec: doomed, message, step: 10, loss: 11.8, lossText: '11.8', lr: 1.2e-3, backend: 'webgpu', device: 'x', finishedAt: '2026-12-03T11:53:42.380Z',
    ...(divergenceSteps !== undefined ? { divergenceSteps } : {}),
  });
  const streak5 = 'training diverged: loss 11.810 at step 14 is above ln(V) + 2 = 11.21 for 5 steps in a row (since step 10); no checkpoint was written';
  const noPatience = { ...sane, train: { ...sane.train } };
  // A record from before the field existed: the patience is read from its message; the default is now 20.
  assert.match(supersededDivergence(rec(undefined, streak5), noPatience) ?? '', /^it diverged under a guard of 5 steps in a row; the guard is now 20 steps, so it is trained again$/);
  assert.equal(supersededDivergence(rec(20, streak5), noPatience), undefined, 'the field wins over the message');
  assert.equal(supersededDivergence(rec(5, streak5), { ...sane, train: { ...sane.train, divergenceSteps: 5 } }), undefined);
  assert.equal(supersededDivergence(rec(5, streak5), { ...sane, train: { ...sane.train, divergenceSteps: 3 } }), undefined, 'a less patient guard now: it stands');
  assert.match(supersededDivergence(rec(5, streak5), { ...sane, train: { ...sane.train, divergenceSteps: 0 } }) ?? '', /the guard is now off \(non-finite values only\)/);
  assert.equal(supersededDivergence(rec(null, 'training diverged: loss is NaN at step 3; …'), noPatience), undefined, 'a non-finite loss stands');
  assert.equal(supersededDivergence(rec(undefined, 'training diverged: loss is NaN at step 3; …'), noPatience), undefined);
});

test('ensureRun: a diverged record of a less patient guard is set aside and the run trains again; until then its state is pending', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-diverge-stale-'));
  try {
    const first = await runSpecs('exp', [doomed], { runsDir });
    assert.equal(first.diverged.length, 1);
    const dir = first.diverged[0].runDir;
    const file = path.join(dir, DIVERGED_FILE);
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as DivergedRun;
    assert.equal(rec.divergenceSteps, 2, 'the record names the patience it was judged with');
    // As if an older, less patient guard (1 step) had written it.
    fs.writeFileSync(file, JSON.stringify({ ...rec, divergenceSteps: 1 }));
    assert.deepEqual((await runStatuses([doomed], { runsDir })).map((s) => [s.state, s.diverged]), [['pending', undefined]]);

    const lines: string[] = [];
    let steps = 0;
    const again = await runSpecs('exp', [doomed], { runsDir, log: (l) => void lines.push(l), hooks: { onStep: () => void steps++ } });
    assert.ok(steps > 0, 'trained again');
    assert.equal(again.diverged.length, 1, 'and diverges again under its own guard');
    assert.match(again.diverged[0].message, /^training diverged: .* for 2 steps in a row/);
    const aside = fs.readdirSync(runsDir).filter((n) => n.startsWith(`${path.basename(dir)}.replaced-`));
    assert.equal(aside.length, 1, 'the old record is kept aside');
    assert.equal((JSON.parse(fs.readFileSync(path.join(runsDir, aside[0], DIVERGED_FILE), 'utf8')) as DivergedRun).divergenceSteps, 1);
    assert.ok(lines.some((l) => l.includes(`${dir}: it diverged under a guard of 1 steps in a row; the guard is now 2 steps, so it is trained again (the record is kept in `)), lines.join('\n'));
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as DivergedRun).divergenceSteps, 2);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
