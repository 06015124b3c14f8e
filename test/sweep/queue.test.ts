// Queue mode on a real Redis: two workers share a sweep and train every run once; a worker SIGKILLed mid-run
// loses its run to the other, which resumes it from its checkpoint to the same losses as an uninterrupted run;
// past the stalled limit the run is failed with the reason in its folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { readSweepFile } from '../../lib/sweep/spec';
import { planSweep, prepareSweepData } from '../../lib/sweep/plan';
import type { SweepPlan } from '../../lib/sweep/plan';
import { redisConnection } from '../../lib/sweep/queue';
import type { SweepJobProgress } from '../../lib/sweep/queue';
import { REDIS_SKIP, killBackground, mla, mlaBackground, startRedis, tempDir, tinyTrain, trainLosses, waitFor, writeSweep } from './helpers';
import type { RedisHandle } from './helpers';

let redis: RedisHandle | undefined;
if (REDIS_SKIP) console.log(`# skipping the queue tests: ${REDIS_SKIP}`);
before(async () => {
  if (!REDIS_SKIP) redis = await startRedis();
});
after(async () => {
  killBackground();
  await redis?.stop();
});

// Short locks so a dead worker is noticed in seconds (production defaults: 120 s and 30 s).
const FAST = ['--lock-ms', '3000', '--stalled-ms', '1000'];

async function planOf(dir: string, name: string, sweep: unknown): Promise<{ file: string; plan: SweepPlan }> {
  const file = writeSweep(dir, name, sweep);
  const plan = await planSweep(readSweepFile(file));
  // Built here once, not by two workers starting together.
  await prepareSweepData(plan);
  return { file, plan };
}

function worker(queue: string, extra: string[] = ['--idle-exit', '1']) {
  return mlaBackground(['worker', '--redis', redis!.url, '--queue', queue, ...FAST, ...extra]);
}

test('a sweep over two workers: every run done exactly once, progress on the jobs, resubmitting adds nothing', { skip: REDIS_SKIP }, async () => {
  const dir = tempDir('mla-sweep-queue-');
  const { file, plan } = await planOf(dir, 'two', { runsDir: 'runs', base: { data: 'embedded', train: tinyTrain(4) }, axes: { preset: ['tiny-mla-rope', 'tiny-gqa-rope'], seed: [0, 1] } });
  // Both workers wait before anything is queued, so both get runs; they run until stopped.
  const workers = [worker('two', []), worker('two', [])];
  await waitFor('both workers ready', () => workers.every((w) => /waiting for runs/.test(w.output())));
  const sub = mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'two', '--json']);
  assert.equal(sub.code, 0, sub.stderr);
  assert.equal(JSON.parse(sub.stdout).added.length, 4);
  const again = JSON.parse(mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'two', '--json']).stdout);
  assert.equal(again.added.length, 0, 'the job id is the run id');

  const queue = new Queue('two', { connection: redisConnection(redis!.url) });
  try {
    // Completed on the queue, not only logged: a worker stopped between the two would leave its last job active.
    let completed = 0;
    for (const t0 = Date.now(); completed < 4 && Date.now() - t0 < 90_000; await new Promise((r) => setTimeout(r, 100))) {
      completed = (await queue.getJobCounts('completed')).completed;
    }
    assert.equal(completed, 4, workers.map((w) => w.output()).join('\n'));
    for (const w of workers) w.proc.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0], workers.map((w) => w.output()).join('\n'));
    const done = workers.flatMap((w) => [...w.output().matchAll(/ done (\S+): /g)].map((m) => m[1]));
    assert.deepEqual([...done].sort(), plan.runs.map((r) => r.id).sort(), 'each run finished once, across both workers');
    assert.ok(workers.every((w) => / done /.test(w.output())), 'both workers trained');
    for (const run of plan.runs) {
      assert.ok(fs.existsSync(path.join(run.runDir, 'result.json')), run.id);
      assert.equal(trainLosses(run.runDir).length, 4, `${run.id} logged each step once`);
    }
    const job = await queue.getJob(plan.runs[0].id);
    const progress = job!.progress as SweepJobProgress;
    assert.equal(progress.step, 4);
    assert.equal(progress.totalSteps, 4);
    assert.ok(Number.isFinite(progress.loss));
    assert.equal(job!.returnvalue.runId, plan.runs[0].id);
  } finally {
    await queue.close();
  }
  const third = JSON.parse(mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'two', '--json']).stdout);
  assert.deepEqual([third.added.length, third.done.length], [0, 4], 'finished runs are not submitted');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts two workers, waits until one trains past a checkpoint, SIGKILLs it; returns the survivor. */
async function killMidRun(queue: string, runDir: string, atStep: number, extra: string[] = []) {
  const workers = [worker(queue, ['--idle-exit', '1', ...extra]), worker(queue, ['--idle-exit', '1', ...extra])];
  const claim = await waitFor('a worker past a checkpoint', () => {
    const latest = path.join(runDir, 'checkpoint', 'latest.json');
    if (!fs.existsSync(latest) || trainLosses(runDir).length < atStep) return undefined;
    return JSON.parse(fs.readFileSync(path.join(runDir, 'sweep-worker.json'), 'utf8')) as { worker: string };
  });
  const pid = Number(claim.worker.split(':').pop());
  const victim = workers.find((w) => w.proc.pid === pid);
  assert.ok(victim, `the claim names one of the two workers (${claim.worker})`);
  victim.proc.kill('SIGKILL');
  const survivor = workers.find((w) => w !== victim)!;
  return { victim, survivor, stepsAtKill: trainLosses(runDir).length };
}

test('a worker SIGKILLed mid-run: the other resumes it from its checkpoint to the same losses', { skip: REDIS_SKIP }, async () => {
  const dir = tempDir('mla-sweep-kill-');
  const { file, plan } = await planOf(dir, 'kill', { runsDir: 'runs', base: { preset: 'tiny-mla-rope', data: 'embedded', train: tinyTrain(28, 4) } });
  const [run] = plan.runs;
  assert.equal(mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'kill']).code, 0);
  const { survivor, stepsAtKill } = await killMidRun('kill', run.runDir, 10);
  assert.ok(stepsAtKill < 28, `killed mid-run (step ${stepsAtKill})`);
  assert.equal(await survivor.exited, 0, survivor.output());
  assert.match(survivor.output(), new RegExp(`lost its worker`));
  assert.match(survivor.output(), new RegExp(`start ${run.id} .*restarts after a lost worker 1`));
  const claim = JSON.parse(fs.readFileSync(path.join(run.runDir, 'sweep-worker.json'), 'utf8'));
  assert.equal(Number(claim.worker.split(':').pop()), survivor.proc.pid, 'the survivor finished it');
  const config = JSON.parse(fs.readFileSync(path.join(run.runDir, 'config.json'), 'utf8'));
  assert.equal(config.resumes.length, 1);
  assert.ok(config.resumes[0].fromStep >= 8 && config.resumes[0].fromStep % 4 === 0, `resumed from a checkpoint (step ${config.resumes[0].fromStep})`);

  // The same run uninterrupted, in another folder.
  const ref = path.join(dir, 'ref');
  const r = mla(['sweep', 'run', file, '--index', '0', '--runs-dir', ref]);
  assert.equal(r.code, 0, r.stderr);
  const expected = trainLosses(path.join(ref, run.id));
  assert.equal(expected.length, 28);
  assert.deepEqual(trainLosses(run.runDir), expected, 'resumed losses equal the uninterrupted run');
  const resultOf = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'result.json'), 'utf8'));
  assert.equal(resultOf(run.runDir).valPerplexity, resultOf(path.join(ref, run.id)).valPerplexity);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('past the stalled limit the run is failed, with the reason in its folder and in status', { skip: REDIS_SKIP }, async () => {
  const dir = tempDir('mla-sweep-fail-');
  const { file, plan } = await planOf(dir, 'fail', { runsDir: 'runs', base: { preset: 'tiny-mqa-rope', data: 'embedded', train: tinyTrain(24, 4) } });
  const [run] = plan.runs;
  assert.equal(mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'fail']).code, 0);
  const { survivor } = await killMidRun('fail', run.runDir, 6, ['--max-stalled', '0']);
  assert.equal(await survivor.exited, 0, survivor.output());
  const failure = JSON.parse(fs.readFileSync(path.join(run.runDir, 'sweep-failed.json'), 'utf8'));
  assert.match(failure.reason, /stalled more than allowable limit/);
  const status = JSON.parse(mla(['sweep', 'status', file, '--json']).stdout);
  assert.equal(status.runs[0].state, 'failed');
  assert.match(status.runs[0].detail, /stalled more than allowable limit/);
  const retry = JSON.parse(mla(['sweep', 'submit', file, '--redis', redis!.url, '--queue', 'fail', '--retry-failed', '--json']).stdout);
  assert.deepEqual(retry.retried, [run.id]);
  fs.rmSync(dir, { recursive: true, force: true });
});
