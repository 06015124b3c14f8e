// The trainer on a toy model: reproducibility, the run folder's files, no leaks, and clear failures.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { findLatestCheckpoint, loadTrainingCheckpoint, LATEST_FILE } from '../../lib/train/checkpoints';
import { checkFreeSpace, readMetrics, truncateMetrics } from '../../lib/train/run-dir';
import { DivergenceError } from '../../lib/train/errors';
import { train } from '../../lib/train/trainer';
import type { StepMetrics, TrainOptions, ValMetrics } from '../../lib/train/types';
import { ToyBigram, toyConfig, toyData, useCpu } from './toy';

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-train-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const base = (outDir: string, over: Partial<TrainOptions> = {}) => ({
  tokens: 40 * 2 * 8 * 2, batchSize: 2, seqLen: 8, accumSteps: 2, lr: 3e-2, seed: 11, outDir,
  evalEvery: 10, checkpointEvery: 10, progress: 'none' as const, ...over,
});

const trainLines = (dir: string) => readMetrics(dir).filter((l): l is StepMetrics => l.kind === 'train');
const valLines = (dir: string) => readMetrics(dir).filter((l): l is ValMetrics => l.kind === 'val');

test('same seed gives the same loss curve; the loss falls; another seed differs', async () => {
  await useCpu();
  const runs: number[][] = [];
  for (const seed of [11, 11, 12]) {
    const dir = path.join(tmpDir(), 'run');
    const model = new ToyBigram(toyConfig(), 1);
    const res = await train(model, toyData(), base(dir, { seed }));
    assert.equal(res.steps, 40);
    runs.push(trainLines(dir).map((l) => l.loss));
    model.dispose();
  }
  assert.deepEqual(runs[0], runs[1], 'same seed, same backend: identical losses');
  assert.notDeepEqual(runs[0], runs[2], 'the seed drives dropout');
  const first = runs[0].slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = runs[0].slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first - 0.3, `the loss should fall on the toy corpus: ${first} → ${last}`);
});

test('the run folder holds config.json, one metrics line per step, validation lines and one checkpoint set', async () => {
  const dir = path.join(tmpDir(), 'run');
  const model = new ToyBigram(toyConfig(), 1);
  const seen: number[] = [];
  const evals: number[] = [];
  const res = await train(model, toyData(), base(dir, { runInfo: { preset: 'toy' } }), {
    onStep: (m) => void seen.push(m.step),
    onEval: (v) => void evals.push(v.step),
  });
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.steps, 40);
  assert.equal(cfg.tokensPerStep, 32);
  assert.equal(cfg.options.lr, 3e-2);
  assert.equal(cfg.options.beta2, 0.999, "torch's AdamW defaults");
  assert.equal(cfg.preset, 'toy');
  assert.deepEqual(cfg.data, { kind: 'toy', vocab: 16, seed: 3 });
  assert.equal(cfg.model.vocabSize, 16);
  assert.ok(cfg.git === null || /^[0-9a-f]{40}$/.test(cfg.git));
  const lines = trainLines(dir);
  assert.deepEqual(lines.map((l) => l.step), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.deepEqual(seen, lines.map((l) => l.step));
  for (const l of lines) {
    assert.equal(l.tokens, l.step * 32);
    for (const k of ['loss', 'lr', 'gradNorm', 'tokensPerSec', 'liveTensors', 'elapsedSec'] as const) assert.ok(Number.isFinite(l[k]), `${k} of step ${l.step}`);
    assert.equal(l.backend, 'cpu');
    assert.ok(!Number.isNaN(Date.parse(l.time)));
  }
  assert.ok(lines[1].lr > lines[0].lr, 'warm-up');
  const vals = valLines(dir);
  assert.deepEqual(vals.map((v) => v.step), [10, 20, 30, 40]);
  assert.deepEqual(evals, [10, 20, 30, 40]);
  assert.equal(vals[0].valTokens, 299, 'the whole toy validation split (300 tokens → 299 predictions)');
  assert.ok(Math.abs(vals[3].valPerplexity - Math.exp(vals[3].valLoss)) < 1e-9);
  assert.equal(res.finalValPerplexity, vals[3].valPerplexity);
  const ck = fs.readdirSync(path.join(dir, 'checkpoint')).sort();
  assert.deepEqual(ck, [LATEST_FILE, 'step-00000030', 'step-00000040'], 'sets older than the last two (keepCheckpoints default) are pruned once the new one is complete');
  assert.equal(findLatestCheckpoint(dir)?.step, 40);
  model.dispose();
});

test('no tensor leaks: the live tensor count at step 1000 equals that at step 10', async () => {
  const dir = path.join(tmpDir(), 'run');
  const model = new ToyBigram(toyConfig(8, 0.1), 1, 4);
  const before = tf.memory().numTensors;
  await train(model, toyData(8), { tokens: 1000 * 4, batchSize: 1, seqLen: 4, accumSteps: 1, outDir: dir, lr: 1e-3, evalEvery: 250, evalTokens: 32, checkpointEvery: 300, progress: 'none' });
  const live = trainLines(dir).map((l) => l.liveTensors);
  assert.equal(live.length, 1000);
  assert.equal(live[999], live[9], `live tensors grew from ${live[9]} at step 10 to ${live[999]} at step 1000`);
  assert.equal(tf.memory().numTensors, before, 'the optimizer state is freed when train() returns');
  model.dispose();
});

class PoisonedToy extends ToyBigram {
  constructor(private readonly poisonCall: number) {
    super(toyConfig(), 1);
  }
  override loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts = {}): tf.Scalar {
    const l = super.loss(ids, targets, opts);
    if (this.calls !== this.poisonCall) return l;
    const bad = tf.tidy(() => tf.mul(l, tf.scalar(NaN)) as tf.Scalar);
    l.dispose();
    return bad;
  }
}

test('a NaN loss stops the run naming the step and the last good checkpoint, which stays loadable', async () => {
  const dir = path.join(tmpDir(), 'run');
  const model = new PoisonedToy(37);
  await assert.rejects(train(model, toyData(), base(dir, { accumSteps: 1, evalEvery: 0 })), (e: Error) => {
    assert.equal(e.name, 'TrainingError');
    assert.match(e.message, /^training diverged: loss is NaN at step 37; the last checkpoint with a sane loss is .*step-00000030 \(step 30\); lower --lr/);
    assert.ok(e instanceof DivergenceError);
    assert.equal(e.step, 37, 'a non-finite loss: its own step');
    assert.ok(Number.isNaN(e.loss));
    return true;
  });
  assert.deepEqual(trainLines(dir).map((l) => l.step), Array.from({ length: 36 }, (_, i) => i + 1), 'lines before the failure are kept');
  const ref = findLatestCheckpoint(dir);
  assert.equal(ref?.step, 30);
  const shapes = Object.fromEntries(Object.entries(model.params).map(([n, p]) => [n, p.shape]));
  const ck = loadTrainingCheckpoint(ref!, model.config, shapes);
  assert.equal(ck.adamStep, 30);
  tf.dispose([...Object.values(ck.model.tensors), ...Object.values(ck.m), ...Object.values(ck.v)]);
  model.dispose();
});

test('an unwritable output folder or a full disk fails before training starts', async () => {
  const root = tmpDir();
  const file = path.join(root, 'a-file');
  fs.writeFileSync(file, 'x');
  const model = new ToyBigram(toyConfig(), 1);
  const calls = model.calls;
  await assert.rejects(train(model, toyData(), base(path.join(file, 'run'))), /output folder .*a-file\/run is not writable .*choose another --out/);
  assert.equal(model.calls, calls, 'no training step ran');
  assert.throws(() => checkFreeSpace(root, 1e18, 'this run'), /not enough disk space in .*: this run needs about .* MiB, .* MiB free/);
  model.dispose();
});

test('a folder holding a run is not overwritten, and --resume refuses other settings', async () => {
  const dir = path.join(tmpDir(), 'run');
  const model = new ToyBigram(toyConfig(), 1);
  await train(model, toyData(), base(dir, { tokens: 5 * 32 }));
  await assert.rejects(train(model, toyData(), base(dir)), /already holds a run .*pass --resume/);
  const live = tf.memory().numTensors;
  await assert.rejects(train(model, toyData(), base(dir, { lr: 3e-3, resume: true })), (e: Error) => {
    assert.match(e.message, /lr: run has 0\.03, now 0\.003/);
    assert.match(e.message, /tokens: run has 160, now 1280/);
    return true;
  });
  assert.equal(tf.memory().numTensors, live, 'a refused run frees its optimizer state');
  model.dispose();
});

test('shouldStop ends the run with a checkpoint; resuming it gives the losses of an uninterrupted run', async () => {
  const full = path.join(tmpDir(), 'full');
  const m1 = new ToyBigram(toyConfig(), 1);
  await train(m1, toyData(), base(full, { checkpointEvery: 0 }));
  m1.dispose();

  const dir = path.join(tmpDir(), 'stopped');
  const m2 = new ToyBigram(toyConfig(), 1);
  let steps = 0;
  const res = await train(m2, toyData(), base(dir, { checkpointEvery: 0 }), { onStep: () => void steps++, shouldStop: () => steps >= 13 });
  assert.equal(res.stopped, true);
  assert.equal(res.steps, 13);
  assert.equal(findLatestCheckpoint(dir)?.step, 13);
  m2.dispose();

  // A fresh model and data source, as a new process would have: everything comes from the checkpoint.
  const m3 = new ToyBigram(toyConfig(), 99);
  const resumed = await train(m3, toyData(), base(dir, { checkpointEvery: 0, resume: true }));
  assert.equal(resumed.steps, 40);
  assert.deepEqual(trainLines(dir).map((l) => l.loss), trainLines(full).map((l) => l.loss));
  assert.deepEqual(valLines(dir).map((l) => l.valLoss), valLines(full).map((l) => l.valLoss));
  m3.dispose();

  // Resuming a finished run does nothing and logs nothing twice.
  const metrics = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
  const m4 = new ToyBigram(toyConfig(), 7);
  const again = await train(m4, toyData(), base(dir, { checkpointEvery: 0, resume: true }));
  assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), metrics);
  assert.equal(again.finalLoss, resumed.finalLoss);
  assert.equal(again.finalValLoss, resumed.finalValLoss);
  m4.dispose();
});

test('leftovers of a kill during a checkpoint write are ignored: the last complete set is found', async () => {
  const dir = path.join(tmpDir(), 'run');
  const model = new ToyBigram(toyConfig(), 1);
  await train(model, toyData(), base(dir, { tokens: 20 * 32 }));
  const root = path.join(dir, 'checkpoint');
  // A newer set killed before its state.json was written, plus a stale temporary file.
  fs.mkdirSync(path.join(root, 'step-00000030'));
  fs.copyFileSync(path.join(root, 'step-00000020', 'model.safetensors'), path.join(root, 'step-00000030', 'model.safetensors'));
  fs.writeFileSync(path.join(root, 'step-00000030', 'state.json.tmp-123'), '{"step": 3');
  assert.equal(findLatestCheckpoint(dir)?.step, 20);
  // latest.json cut short: the scan still finds the complete set.
  fs.writeFileSync(path.join(root, LATEST_FILE), '{"step": 2');
  assert.equal(findLatestCheckpoint(dir)?.step, 20);
  model.dispose();
});

test('truncateMetrics keeps the lines up to the step byte for byte and drops later and partial ones', () => {
  const file = path.join(tmpDir(), 'metrics.jsonl');
  const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ kind: 'train', step: i + 1, loss: 1 / (i + 1) }));
  lines.splice(6, 0, JSON.stringify({ kind: 'val', step: 6, valLoss: 0.5 }));
  fs.writeFileSync(file, lines.join('\n') + '\n{"kind":"train","st');
  const r = truncateMetrics(file, 6);
  assert.deepEqual(r, { kept: 7, dropped: 5 });
  assert.equal(fs.readFileSync(file, 'utf8'), lines.slice(0, 7).join('\n') + '\n');
});

test('a checkStep hook that throws at step 23 stops the run there with its error; earlier lines and checkpoints stay, and a resume finishes it', async () => {
  const full = path.join(tmpDir(), 'full');
  const m1 = new ToyBigram(toyConfig(), 1);
  await train(m1, toyData(), base(full));
  m1.dispose();

  const dir = path.join(tmpDir(), 'run');
  const model = new ToyBigram(toyConfig(), 1);
  const order: string[] = [];
  const failure = new Error('device lost at step 23'); // e.g. what withDeviceErrorScope's check throws
  await assert.rejects(
    train(model, toyData(), base(dir), {
      checkStep: (step) => {
        order.push(`check ${step}`);
        if (step === 23) throw failure;
      },
      onStep: (m) => void order.push(`step ${m.step}`),
    }),
    (e) => e === failure,
  );
  model.dispose();
  assert.deepEqual(order.slice(0, 4), ['check 1', 'step 1', 'check 2', 'step 2'], 'each step is checked before it is logged');
  assert.equal(order[order.length - 1], 'check 23', 'nothing of step 23 was logged');
  assert.deepEqual(trainLines(dir).map((l) => l.step), Array.from({ length: 22 }, (_, i) => i + 1), 'steps 1–22 kept, step 23 not logged');
  assert.deepEqual(valLines(dir).map((l) => l.step), [10, 20]);
  assert.equal(findLatestCheckpoint(dir)?.step, 20, 'the checkpoints before the failure are kept; none written for step 23');
  assert.equal(fs.existsSync(path.join(dir, 'lock')), false, 'the lock is released');

  // The run resumes from step 20 and ends as an uninterrupted run does.
  const m2 = new ToyBigram(toyConfig(), 5);
  const res = await train(m2, toyData(), base(dir, { resume: true }));
  assert.equal(res.steps, 40);
  assert.deepEqual(trainLines(dir).map((l) => l.loss), trainLines(full).map((l) => l.loss));
  m2.dispose();
});
