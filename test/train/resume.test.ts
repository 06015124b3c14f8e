// The real thing: a training process killed with SIGKILL after a checkpoint, then resumed, logs exactly the
// losses of an uninterrupted run with the same seed (CPU, so equality is exact), with no step logged twice.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findLatestCheckpoint } from '../../lib/train/checkpoints';
import { readMetrics } from '../../lib/train/run-dir';
import type { StepMetrics, TrainOptions, ValMetrics } from '../../lib/train/types';

const CHILD = path.join(__dirname, 'resume-child.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-resume-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const options = (outDir: string, resume = false): Partial<TrainOptions> => ({
  tokens: 60 * 2 * 8 * 2, batchSize: 2, seqLen: 8, accumSteps: 2, lr: 3e-2, seed: 5, outDir, resume,
  evalEvery: 10, checkpointEvery: 7, progress: 'none',
});

function start(opts: Partial<TrainOptions>, stepDelayMs = 0): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify({ options: opts, stepDelayMs })], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

const train = (dir: string) => readMetrics(dir).filter((l): l is StepMetrics => l.kind === 'train');
const vals = (dir: string) => readMetrics(dir).filter((l): l is ValMetrics => l.kind === 'val');

test('SIGKILL after a checkpoint, then --resume: the same loss at every step as an uninterrupted run', { timeout: 120_000 }, async () => {
  const full = path.join(root, 'full');
  const ref = await start(options(full)).done;
  assert.equal(ref.code, 0, ref.stderr);
  assert.equal(train(full).length, 60);

  const dir = path.join(root, 'killed');
  const run = start(options(dir), 25);
  // Kill once a checkpoint exists and a few steps past it are logged, so resume must also drop those lines.
  let ckStep = 0;
  const deadline = Date.now() + 60_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'the child never wrote a checkpoint');
    ckStep = findLatestCheckpoint(dir)?.step ?? 0;
    const logged = train(dir).length;
    if (ckStep >= 14 && logged >= ckStep + 2) break;
    await sleep(5);
  }
  run.child.kill('SIGKILL');
  const killed = await run.done;
  assert.equal(killed.signal, 'SIGKILL');
  const before = train(dir);
  assert.ok(before.length < 60, 'the run was killed before it finished');
  assert.ok(before.length > (findLatestCheckpoint(dir)?.step ?? 0), 'lines past the checkpoint exist and must be dropped on resume');

  const resumed = await start(options(dir, true)).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  const steps = train(dir).map((l) => l.step);
  assert.deepEqual(steps, Array.from({ length: 60 }, (_, i) => i + 1), 'every step once, in order');
  assert.deepEqual(train(dir).map((l) => l.loss), train(full).map((l) => l.loss));
  assert.deepEqual(train(dir).map((l) => l.gradNorm), train(full).map((l) => l.gradNorm));
  assert.deepEqual(vals(dir).map((v) => [v.step, v.valLoss]), vals(full).map((v) => [v.step, v.valLoss]));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.resumes.length, 1);
  const from = cfg.resumes[0].fromStep;
  assert.ok(from >= 14 && from % 7 === 0, `resumed from a checkpoint step, got ${from}`);
});
