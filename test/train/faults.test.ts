// Fault injection on the trainer (toy model, CPU): a kill at every point of a checkpoint save, a full disk
// mid-save, a second writer, a stale lock, a changed corpus, a diverging loss and SIGTERM/SIGHUP. After each,
// what was already written is still there: the previous checkpoint loads, metrics lines are kept, config.json is
// untouched, and a resume ends with exactly the losses of an uninterrupted run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import { FaultPhase, enospcError, setFaultHook } from '../../lib/checkpoint/faults';
import { formatError } from '../../cli/errors';
import { findLatestCheckpoint, loadTrainingCheckpoint } from '../../lib/train/checkpoints';
import { LOCK_FILE, checkRunUnlocked } from '../../lib/train/lock';
import { readMetrics } from '../../lib/train/run-dir';
import { DivergenceError } from '../../lib/train/errors';
import { train } from '../../lib/train/trainer';
import type { StepMetrics, TrainData, TrainOptions } from '../../lib/train/types';
import type { ChildArgs } from './resume-child';
import { ToyBigram, toyConfig, toyData, useCpu } from './toy';

const CHILD = path.join(__dirname, 'resume-child.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-faults-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = (name: string) => path.join(root, `${name}-${n++}`);

const STEPS = 20;
const options = (outDir: string, over: Partial<TrainOptions> = {}): Partial<TrainOptions> & Pick<TrainOptions, 'tokens' | 'outDir'> => ({
  tokens: STEPS * 2 * 8, batchSize: 2, seqLen: 8, accumSteps: 1, lr: 3e-2, seed: 5, outDir,
  evalEvery: 0, checkpointEvery: 5, progress: 'none', ...over,
});

const losses = (dir: string) => readMetrics(dir).filter((l): l is StepMetrics => l.kind === 'train').map((l) => l.loss);
const steps = (dir: string) => readMetrics(dir).filter((l): l is StepMetrics => l.kind === 'train').map((l) => l.step);

function runChild(args: ChildArgs): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

async function trainToy(o: Partial<TrainOptions> & Pick<TrainOptions, 'tokens' | 'outDir'>, data: TrainData = toyData()) {
  const model = new ToyBigram(toyConfig(), 1);
  try {
    return await train(model, data, o);
  } finally {
    model.dispose();
  }
}

/** Asserts the latest checkpoint of `dir` loads (weights, moments, state) and returns its step. */
function latestLoads(dir: string): number {
  const ref = findLatestCheckpoint(dir);
  assert.ok(ref, `${dir} has a checkpoint`);
  const model = new ToyBigram(toyConfig(), 1);
  const shapes = Object.fromEntries(Object.entries(model.params).map(([k, p]) => [k, p.shape]));
  const ck = loadTrainingCheckpoint(ref, model.config, shapes);
  tf.dispose([...Object.values(ck.model.tensors), ...Object.values(ck.m), ...Object.values(ck.v)]);
  model.dispose();
  return ref.step;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

let reference: number[] = [];
before(async () => {
  await useCpu();
  const dir = newDir('reference');
  await trainToy(options(dir));
  reference = losses(dir);
  assert.equal(reference.length, STEPS);
});

// The second save (step 10) is cut at each point; keepCheckpoints 1 so that it also prunes step 5.
const KILL_POINTS: { phase: FaultPhase; file: string; expect: number; nth?: number }[] = [
  { phase: 'create', file: 'model.safetensors', expect: 5 },
  { phase: 'written', file: 'model.safetensors', expect: 5 },
  { phase: 'renamed', file: 'model.safetensors', expect: 5 },
  { phase: 'rename', file: 'optimizer.safetensors', expect: 5 },
  { phase: 'written', file: 'state.json', expect: 5 },
  { phase: 'renamed', file: 'state.json', expect: 5 },
  { phase: 'rename', file: 'latest.json', expect: 5 },
  { phase: 'renamed', file: 'latest.json', expect: 10 },
  { phase: 'remove', file: 'step-00000005', expect: 10, nth: 1 },
];

for (const point of KILL_POINTS) {
  test(`SIGKILL at '${point.phase}' of ${point.file} in a save: the last complete set loads, and --resume matches an uninterrupted run`, { timeout: 60_000 }, async () => {
    const dir = newDir('kill');
    const r = await runChild({ options: options(dir, { keepCheckpoints: 1 }), killAt: { phase: point.phase, file: point.file, nth: point.nth ?? 2 } }).done;
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const config = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
    assert.equal(latestLoads(dir), point.expect);
    assert.deepEqual(steps(dir), Array.from({ length: 10 }, (_, i) => i + 1), 'every line written before the kill is kept');
    assert.deepEqual(losses(dir), reference.slice(0, 10));
    // The killed process left its lock; this process (same host, its PID dead) takes it over.
    assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
    await trainToy(options(dir, { keepCheckpoints: 1, resume: true }));
    assert.deepEqual(losses(dir), reference);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).createdAt, JSON.parse(config).createdAt);
    assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false, 'the lock goes when the run ends');
  });
}

test('ENOSPC while writing a checkpoint: a one-line error naming the file and the last complete set, which loads', async () => {
  const dir = newDir('enospc');
  let hits = 0;
  setFaultHook((phase, file) => {
    if (phase === 'written' && path.basename(file) === 'optimizer.safetensors' && ++hits === 2) throw enospcError(file);
  });
  try {
    await assert.rejects(trainToy(options(dir)), (e: Error) => {
      assert.equal(e.name, 'TrainingError');
      assert.match(e.message, /^the checkpoint of step 10 was not written: cannot write .*step-00000010\/optimizer\.safetensors \(ENOSPC\): no space left on the device; .*the last complete checkpoint is .*step-00000005 \(step 5\), continue from it with --resume$/);
      assert.doesNotMatch(formatError(e), /\n/, 'the CLI prints it as one line');
      return true;
    });
  } finally {
    setFaultHook();
  }
  assert.equal(latestLoads(dir), 5);
  assert.deepEqual(steps(dir), Array.from({ length: 10 }, (_, i) => i + 1));
  assert.deepEqual(filesUnder(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file is left behind');
  assert.equal(fs.existsSync(path.join(dir, LOCK_FILE)), false, 'the lock is released on failure');
  await trainToy(options(dir, { resume: true }));
  assert.deepEqual(losses(dir), reference);
});

test('a second writer on a run folder is refused at once, naming the PID and host; the first finishes intact', { timeout: 60_000 }, async () => {
  const dir = newDir('two');
  const first = runChild({ options: options(dir), stepDelayMs: 40 });
  for (const deadline = Date.now() + 30_000; steps(dir).length < 2; await sleep(5)) assert.ok(Date.now() < deadline, 'the first writer never started');
  assert.throws(() => checkRunUnlocked(dir), new RegExp(`is being trained by pid ${first.child.pid}`), 'the CLI can ask before preparing data');
  for (const resume of [false, true]) {
    const t0 = Date.now();
    await assert.rejects(trainToy(options(dir, { resume })), (e: Error) => {
      assert.equal(e.name, 'TrainingError');
      assert.match(e.message, new RegExp(`is being trained by pid ${first.child.pid} on host ${os.hostname()} since .*; wait for it to finish`));
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, 'refused at once');
  }
  const r = await first.done;
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(steps(dir), Array.from({ length: STEPS }, (_, i) => i + 1), 'one line per step, none from the refused writers');
  assert.deepEqual(losses(dir), reference);
});

test("a stale lock (a dead PID on this host) is taken over with a message; another host's lock is refused", async (t) => {
  const dir = newDir('stale');
  fs.mkdirSync(dir);
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: os.hostname(), startedAt: '2020-01-01T00:00:00.000Z' }));
  const errors: string[] = [];
  t.mock.method(console, 'error', (s: string) => void errors.push(s));
  await trainToy(options(dir));
  t.mock.restoreAll();
  assert.deepEqual(errors.filter((e) => /taking over the lock/.test(e)).length, 1);
  assert.match(errors.join('\n'), new RegExp(`pid ${dead} on ${os.hostname()} .*is gone`));
  assert.deepEqual(losses(dir), reference);

  const other = newDir('other-host');
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(other, LOCK_FILE), JSON.stringify({ pid: dead, host: 'elsewhere', startedAt: '2020-01-01T00:00:00.000Z' }));
  await assert.rejects(trainToy(options(other)), /is being trained by pid \d+ on host elsewhere .*if that host no longer trains there, delete/);
  assert.ok(fs.existsSync(path.join(other, LOCK_FILE)), 'a lock that is not ours is never removed');
});

test('--resume on a changed corpus or tokenizer is refused naming both values; nothing in the run changes', async () => {
  const dir = newDir('data');
  const tokenizer = path.join(root, `tokenizer-${n}.json`);
  fs.writeFileSync(tokenizer, '{"the":"first tokenizer"}');
  const data = (corpusHash: string) => ({ ...toyData(), describe: { spec: 'toy', corpusHash, tokenizer } });
  await trainToy(options(dir, { tokens: 10 * 16 }), data('aaaa'));
  const before = filesUnder(dir).map((f) => [f, fs.readFileSync(f, 'utf8')]);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).data;
  assert.match(saved.tokenizerSha256, /^[0-9a-f]{64}$/, 'config.json records the tokenizer hash');

  await assert.rejects(trainToy(options(dir, { tokens: 10 * 16, resume: true }), data('bbbb')), (e: Error) => {
    assert.equal(e.name, 'TrainingError');
    assert.match(e.message, /^--resume of .*: the data differs from the run's \(corpusHash: run has "aaaa", now "bbbb"\); use the run's data \(--data toy\)/);
    assert.ok(!(e instanceof DivergenceError), 'other training errors are not divergences');
    return true;
  });
  fs.writeFileSync(tokenizer, '{"the":"second tokenizer"}');
  await assert.rejects(trainToy(options(dir, { tokens: 10 * 16, resume: true }), data('aaaa')), new RegExp(`tokenizerSha256: run has "${saved.tokenizerSha256}", now "[0-9a-f]{64}"`));
  assert.deepEqual(filesUnder(dir).map((f) => [f, fs.readFileSync(f, 'utf8')]), before, 'config.json, metrics and checkpoints are untouched');
});

/** The toy whose loss (and gradient) is multiplied by `factor` on calls in [from, to): finite, but insane. */
class SpikingToy extends ToyBigram {
  constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly factor = 1000,
  ) {
    super(toyConfig(), 1);
  }
  override loss(ids: tf.Tensor2D, targets: tf.Tensor2D, opts = {}): tf.Scalar {
    const l = super.loss(ids, targets, opts);
    if (this.calls < this.from || this.calls >= this.to) return l;
    const big = tf.tidy(() => tf.mul(l, tf.scalar(this.factor)) as tf.Scalar);
    l.dispose();
    return big;
  }
}

test('a diverging loss stops the run naming the last sane checkpoint, which is kept (beyond keepCheckpoints) and is latest', async () => {
  const dir = newDir('diverge');
  // Steps 11.. are insane; checkpoints every 2 steps keep 2 sets, so without protection step 10 would be pruned at step 14.
  const model = new SpikingToy(11, Infinity);
  await assert.rejects(train(model, toyData(), options(dir, { checkpointEvery: 2, keepCheckpoints: 2, divergenceSteps: 5 })), (e: Error) => {
    assert.equal(e.name, 'TrainingError');
    assert.match(e.message, /^training diverged: loss .* at step 15 is above ln\(V\) \+ 2 = 4\.77 for 5 steps in a row \(since step 11\); the last checkpoint with a sane loss is .*step-00000010 \(step 10\); lower --lr/);
    // A DivergenceError, so a runner records it as the run's outcome: the streak's first step and the last loss.
    assert.ok(e instanceof DivergenceError);
    assert.equal(e.step, 11);
    assert.ok(Number.isFinite(e.loss) && e.loss > 4.77, `loss ${e.loss}`);
    assert.equal(e.message.match(/loss (\S+) at step 15/)![1], e.loss.toPrecision(5));
    return true;
  });
  model.dispose();
  assert.equal(latestLoads(dir), 10, 'latest.json points back at the sane set');
  assert.deepEqual(steps(dir), Array.from({ length: 14 }, (_, i) => i + 1), 'the lines of the insane steps are kept, as a record');

  // A spike shorter than the patience is not a divergence, and 0 turns the check off.
  const spike = new SpikingToy(11, 14);
  assert.equal((await train(spike, toyData(), options(newDir('spike'), { divergenceSteps: 5 }))).steps, STEPS);
  spike.dispose();
  const off = new SpikingToy(3, Infinity);
  assert.equal((await train(off, toyData(), options(newDir('off'), { divergenceSteps: 0 }))).steps, STEPS);
  off.dispose();
});

for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
  test(`${sig} stops the run within a step with a checkpoint of that step, exit ${sig === 'SIGTERM' ? 143 : sig === 'SIGHUP' ? 129 : 130}`, { timeout: 60_000 }, async () => {
    const dir = newDir(sig);
    const run = runChild({ options: options(dir, { checkpointEvery: 0 }), stepDelayMs: 30, signals: true });
    for (const deadline = Date.now() + 30_000; steps(dir).length < 3; await sleep(5)) assert.ok(Date.now() < deadline, 'the child never started');
    run.child.kill(sig);
    const r = await run.done;
    assert.equal(r.code, { SIGTERM: 143, SIGHUP: 129, SIGINT: 130 }[sig], r.stderr);
    const logged = steps(dir);
    assert.ok(logged.length < STEPS, 'stopped early');
    assert.ok(logged.length <= 4 + 1, `stopped within a step of the signal (${logged.length} steps logged)`);
    assert.equal(latestLoads(dir), logged.length, 'the checkpoint is of the last step logged');
    await trainToy(options(dir, { checkpointEvery: 0, resume: true }));
    assert.deepEqual(losses(dir), reference);
  });
}
