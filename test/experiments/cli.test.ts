// `mla experiment`: one-line errors for a bad experiment or scale, and `plan` then `run` then `plan` agree with the
// run folders (pending → done, and a second run reuses them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', '..', 'cli', 'main.js');
const mla = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' } });

test('mla experiment: bad names are one line; plan and run agree with the folders', () => {
  const bad = mla('experiment', 'run', '--experiment', 'ropes', '--scale', 'smoke');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--experiment 'ropes' is not an experiment; choose from lrSweep, noRope, rope, scaling, studyLr, rankSweep, ropeSplit, timing, decodeCost, latentQuant, convert/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const badScale = mla('experiment', 'plan', '--experiment', 'rope', '--scale', 'huge');
  assert.equal(badScale.status, 2);
  assert.match(badScale.stderr, /--scale 'huge' is not a scale; choose from smoke, small, gpu, paper/);

  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-cli-'));
  try {
    const args = ['--experiment', 'noRope', '--scale', 'smoke', '--seeds', '0', '--presets', 'tiny-mqa-norope', '--runs-dir', runs, '--json'];
    const before = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.deepEqual(before.map((r: { state: string }) => r.state), ['pending']);
    const run = mla('experiment', 'run', ...args);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).experiments, [{ experiment: 'noRope', finished: 1, pending: 0, seconds: JSON.parse(run.stdout).experiments[0].seconds }]);
    const after = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.equal(after[0].state, 'done');
    assert.equal(after[0].dir, before[0].dir);
    assert.ok(after[0].valPerplexity > 1);
    const again = mla('experiment', 'run', ...args);
    assert.match(again.stderr, /reusing /);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test('mla experiment: a diverged run is reported, not retrained, exits 3, and plan shows it diverged', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-cli-div-'));
  try {
    const args = ['--experiment', 'noRope', '--scale', 'smoke', '--seeds', '0', '--presets', 'tiny-mha-norope,tiny-mqa-norope', '--runs-dir', runs];
    const before = JSON.parse(mla('experiment', 'plan', ...args, '--json').stdout);
    assert.deepEqual(before.map((r: { preset: string }) => r.preset), ['tiny-mha-norope', 'tiny-mqa-norope']);
    // A folder as a GPU call brings one back: diverged.json and the metrics, no checkpoint.
    const divDir = before[0].dir as string;
    fs.mkdirSync(divDir, { recursive: true });
    const message = 'training diverged: loss 12.983 at step 26 is above ln(V) + 2 = 11.21 for 20 steps in a row (since step 7); no checkpoint was written; lower --lr and start a new run';
    fs.writeFileSync(path.join(divDir, 'config.json'), '{}\n');
    fs.writeFileSync(path.join(divDir, 'metrics.jsonl'), '{"kind":"train","step":1,"loss":9}\n');
    fs.writeFileSync(path.join(divDir, 'diverged.json'), JSON.stringify({ spec: {}, message, step: 7, loss: 12.983, lossText: '12.983', lr: null, divergenceSteps: 20, backend: 'webgpu', device: 'nvidia-h200', finishedAt: '2026-12-01T00:00:00.000Z' }));

    const run = mla('experiment', 'run', ...args, '--json');
    assert.equal(run.status, 3, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(out.experiments.map((x: Record<string, unknown>) => [x.finished, x.pending, x.diverged]), [[1, 0, 1]]);
    assert.equal(out.diverged.length, 1);
    assert.deepEqual({ ...out.diverged[0], message: undefined }, { experiment: 'noRope', preset: 'tiny-mha-norope', seed: 0, lr: null, step: 7, dir: divDir, message: undefined });
    assert.match(out.diverged[0].message, /^diverged before \(.*diverged\.json\): training diverged: loss 12\.983 .*; lower --lr and start a new run; it is not retrained: change its rate \(another folder\) or pass --force to retrain this one$/);
    assert.match(run.stderr, /\[1\/2\] noRope tiny-mha-norope seed 0: diverged at step 7: diverged before /);
    assert.equal(fs.readFileSync(path.join(divDir, 'metrics.jsonl'), 'utf8'), '{"kind":"train","step":1,"loss":9}\n', 'not retrained');

    const plan = JSON.parse(mla('experiment', 'plan', ...args, '--json').stdout);
    assert.deepEqual(plan.map((r: Record<string, unknown>) => [r.state, r.divergedAtStep, r.valPerplexity === null]), [['diverged', 7, true], ['done', undefined, false]]);
    const table = mla('experiment', 'plan', ...args).stdout.split('\n');
    assert.match(table.find((l) => l.includes('tiny-mha-norope'))!, /\bdiverged at step 7\b/);
    assert.match(table.find((l) => l.includes('tiny-mqa-norope'))!, /\bdone\b/);

    const text = mla('experiment', 'run', ...args);
    assert.equal(text.status, 3, text.stderr);
    assert.match(text.stdout, /\nnoRope: 1 finished, 0 left, 1 diverged\ndiverged \(a rerun does not train them again; change the rate, or pass --force\): noRope tiny-mha-norope seed 0 at step 7 \(.*\)\nfinished, 1 diverged\n?$/);
    assert.match(mla('experiment', '--help').stdout, /3 when\s+every run ended but some diverged/);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test('mla experiment plan lists the timing study per machine: pending before, done on cpu after its run', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-timing-'));
  try {
    const args = ['--experiment', 'timing', '--scale', 'smoke', '--runs-dir', runs, '--json'];
    const before = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.deepEqual(before.map((r: { state: string; preset: string }) => [r.state, r.preset]), [['pending', 'study: on no machine yet']]);
    const run = mla('experiment', 'run', ...args);
    assert.equal(run.status, 0, run.stderr);
    const after = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.equal(after.length, 1);
    assert.equal(after[0].state, 'done');
    assert.match(after[0].preset, /^study on cpu \(/);
    assert.ok(fs.existsSync(path.join(after[0].dir, 'result.json')));
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
