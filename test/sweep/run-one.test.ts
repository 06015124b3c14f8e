// One run through the runner: progress per step, a folder killed before its first checkpoint starts over, and
// a run lock left on another host by a worker the queue declared lost is removed (and only then).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultDataRoot } from '../../lib/data/prepare';
import { readSweepFile } from '../../lib/sweep/spec';
import { planSweep } from '../../lib/sweep/plan';
import { trainRun } from '../../lib/sweep/run-one';
import type { RunProgress } from '../../lib/sweep/run-one';
import { useCpu } from '../helpers/models';
import { tempDir, tinyTrain, writeSweep } from './helpers';

test('progress per step; a lost worker\'s lock on another host is removed only when the queue says it is lost', async () => {
  await useCpu();
  const dir = tempDir('mla-sweep-one-');
  const file = writeSweep(dir, 'one', { runsDir: 'runs', base: { preset: 'tiny-mha-rope', data: 'embedded', train: tinyTrain(2, 2) }, axes: { seed: [0, 1, 2] } });
  const plan = await planSweep(readSweepFile(file));
  const root = defaultDataRoot();
  const leaveLock = (runDir: string) => {
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'lock'), JSON.stringify({ pid: 1, host: 'lost-host', startedAt: '2026-01-01T00:00:00Z' }));
    fs.writeFileSync(path.join(runDir, 'sweep-worker.json'), JSON.stringify({ worker: 'lost-host:1', attempt: 1, time: 't' }));
  };

  const seen: RunProgress[] = [];
  leaveLock(plan.runs[0].runDir);
  const result = await trainRun(plan.runs[0], { root, previousWorkerLost: true, onProgress: (p) => void seen.push(p) });
  assert.equal(result.steps, 2);
  assert.deepEqual(seen.map((p) => [p.step, p.totalSteps]), [[1, 2], [2, 2]]);

  leaveLock(plan.runs[1].runDir);
  await assert.rejects(trainRun(plan.runs[1], { root }), /being trained by pid 1 on host lost-host/);

  // Killed before its first checkpoint: config.json and a metrics line but nothing to resume from.
  const d2 = plan.runs[2].runDir;
  fs.mkdirSync(d2, { recursive: true });
  fs.writeFileSync(path.join(d2, 'config.json'), '{}');
  fs.writeFileSync(path.join(d2, 'metrics.jsonl'), '{"kind":"train","step":1}\n');
  assert.equal((await trainRun(plan.runs[2], { root })).steps, 2);
  assert.equal(fs.readdirSync(path.dirname(d2)).filter((n) => n.startsWith(`${plan.runs[2].id}.restarted-`)).length, 1, 'the old folder is kept aside');
  fs.rmSync(dir, { recursive: true, force: true });
});
