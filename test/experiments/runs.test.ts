// Experiment runs are found again by their settings: a finished run is reused, a stopped one resumes, a
// changed setting trains a new run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureRun, RunSpec } from '../../lib/experiments/runs';
import { lossCurves, resultRows } from '../../lib/experiments/report';
import { useCpu } from '../helpers/models';

test('a finished run is reused, an interrupted one resumes, another seed trains anew', async () => {
  await useCpu();
  // The embedded corpus is built once into the repository's data/ and shared; runs go to a temp folder.
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-runs-'));
  const spec: RunSpec = {
    preset: 'tiny-mla-norope',
    seed: 1,
    data: 'embedded',
    train: { tokens: 6 * 4 * 32, batchSize: 4, seqLen: 32, accumSteps: 1, evalEvery: 3, evalTokens: 256, checkpointEvery: 2 },
    trainEvalTokens: 256,
  };
  // Interrupted after 3 steps: nothing is reported, the checkpoint stays.
  let steps = 0;
  await assert.rejects(
    ensureRun(spec, { runsDir, hooks: { onStep: () => void steps++, shouldStop: () => steps >= 3 } }),
    /stopped at step 3 of 6; rerun to resume/,
  );
  const first = await ensureRun(spec, { runsDir });
  assert.equal(first.steps, 6);
  assert.ok(first.valPerplexity > 1 && Number.isFinite(first.valPerplexity));
  assert.ok(first.trainPerplexity !== null && first.trainPerplexity > 1);
  const metricsFile = path.join(first.runDir, 'metrics.jsonl');
  const trainLines = fs.readFileSync(metricsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'train');
  assert.deepEqual(trainLines.map((l) => l.step), [1, 2, 3, 4, 5, 6], 'resumed run logs each step once');
  const mtime = fs.statSync(metricsFile).mtimeMs;
  const again = await ensureRun(spec, { runsDir });
  assert.equal(again.runDir, first.runDir);
  assert.equal(fs.statSync(metricsFile).mtimeMs, mtime, 'a finished run is not retrained');
  const other = await ensureRun({ ...spec, seed: 2 }, { runsDir });
  assert.notEqual(other.runDir, first.runDir);
  const rows = resultRows([first, other], ['tiny-mla-norope']);
  assert.equal(rows[0].seeds, 2);
  const curves = lossCurves([first, other], ['tiny-mla-norope'], 2);
  assert.equal(curves.train[0].tokens.length, 6);
  assert.ok(curves.train[0].lo.every((lo, i) => lo <= curves.train[0].hi[i]));
  fs.rmSync(runsDir, { recursive: true, force: true });
});
