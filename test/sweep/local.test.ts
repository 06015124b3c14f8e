// On one machine: an array task trains exactly its run, N local workers train the rest, and status and report
// agree with what the run folders hold (including a failure marker and another tool's lock file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSweepFile } from '../../lib/sweep/spec';
import { planSweep } from '../../lib/sweep/plan';
import { sweepStatus } from '../../lib/sweep/status';
import { mla, tempDir, tinyTrain, writeSweep } from './helpers';

test('--index trains one run; --workers 2 the rest; status and report agree with the folders', async () => {
  const dir = tempDir('mla-sweep-local-');
  const runsDir = path.join(dir, 'runs');
  const file = writeSweep(dir, 'local', { runsDir: 'runs', base: { data: 'embedded', train: tinyTrain(4) }, axes: { preset: ['tiny-mla-rope', 'tiny-mqa-rope'], seed: [0, 1] } });
  const plan = await planSweep(readSweepFile(file));
  assert.equal(plan.runsDir, runsDir, "runsDir is relative to the sweep file");

  // An array task: the index comes from Slurm's variable.
  const one = mla(['sweep', 'run', file], { SLURM_ARRAY_TASK_ID: '2' });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stderr, /run 2 of 4 \(from \$SLURM_ARRAY_TASK_ID\)/);
  assert.deepEqual(fs.readdirSync(runsDir), [plan.runs[2].id], 'exactly one run folder');
  assert.deepEqual(sweepStatus(plan).map((s) => s.state), ['pending', 'pending', 'done', 'pending']);
  const outside = mla(['sweep', 'run', file, '--index', '4']);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /run index 4 is outside sweep 'local', which has runs 0\.\.3/);

  // Run 0 has given up, run 1 holds another tool's lock: the two workers train only those not done, i.e. 0, 1, 3.
  fs.mkdirSync(path.join(runsDir, plan.runs[1].id));
  fs.writeFileSync(path.join(runsDir, plan.runs[1].id, 'lock'), 'held by someone');
  const st = JSON.parse(mla(['sweep', 'status', file, '--json']).stdout) as { counts: Record<string, number>; runs: { state: string; detail?: string }[] };
  assert.deepEqual(st.counts, { done: 1, running: 1, failed: 0, pending: 2 });
  assert.match(st.runs[1].detail ?? '', /lock file 'lock'/);
  fs.rmSync(path.join(runsDir, plan.runs[1].id, 'lock'));

  const all = mla(['sweep', 'run', file, '--workers', '2']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /3 done, 0 failed/);
  for (const run of plan.runs) {
    const lines = fs.readFileSync(path.join(run.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.filter((l) => l.kind === 'train').map((l) => l.step), [1, 2, 3, 4], `${run.id} trained once`);
  }

  // A failure marker on a finished run does not hide it; on an unfinished one it is what status reports.
  fs.rmSync(path.join(plan.runs[3].runDir, 'result.json'));
  fs.writeFileSync(path.join(plan.runs[3].runDir, 'sweep-failed.json'), JSON.stringify({ reason: 'out of memory', worker: 'h:1', time: 't' }));
  const status = JSON.parse(mla(['sweep', 'status', file, '--json']).stdout) as { counts: Record<string, number>; runs: { id: string; state: string }[] };
  assert.deepEqual(status.counts, { done: 3, running: 0, failed: 1, pending: 0 });

  const out = path.join(dir, 'report');
  const rep = mla(['sweep', 'report', file, '--out', out]);
  assert.equal(rep.code, 0, rep.stderr);
  const rows = fs.readFileSync(path.join(out, 'sweep-local-runs.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const col = (name: string) => rows[0].indexOf(name);
  assert.deepEqual(rows.slice(1).map((r) => [r[col('id')], r[col('state')]]), status.runs.map((s) => [s.id, s.state]), 'report and status agree');
  assert.ok(rows.slice(1).every((r) => (r[col('state')] === 'done') === (r[col('valPerplexity')] !== '')), 'a perplexity exactly for the done runs');
  const groups = fs.readFileSync(path.join(out, 'sweep-local-results.csv'), 'utf8').trim().split('\n');
  assert.equal(groups.length, 3, 'one row per preset');
  assert.match(groups[1], /^tiny-mla-rope,.*,2,/, 'tiny-mla-rope has its two seeds');
  assert.match(groups[2], /^tiny-mqa-rope,.*,1,/, 'tiny-mqa-rope has one finished seed');
  assert.match(fs.readFileSync(path.join(out, 'sweep-local-train-loss.svg'), 'utf8'), /^<svg/);
  fs.rmSync(dir, { recursive: true, force: true });
});
