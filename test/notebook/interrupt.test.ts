// Interrupting a training cell: SIGINT (what Jupyter sends the kernel) stops the run after its current step,
// keeps its checkpoint, and the rerun resumes it to the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTrainingExperiment } from '../../lib/notebook/experiment';
import { useCpu } from '../helpers/models';

test('SIGINT stops a training experiment after a step; rerunning resumes and finishes it', async () => {
  await useCpu();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-interrupt-'));
  const exp = { presets: ['tiny-mqa-norope'], train: { tokens: 300 * 2 * 16, batchSize: 2, seqLen: 16, accumSteps: 1, evalEvery: 0, evalTokens: 64 } };
  const timer = setTimeout(() => process.emit("SIGINT"), 500);
  await assert.rejects(runTrainingExperiment(exp, { seeds: [3], data: 'embedded', runsDir }), /stopped at step \d+ of 300; rerun to resume/);
  clearTimeout(timer);
  assert.equal(process.listenerCount('SIGINT'), 0, 'the handler is removed after the cell');
  const [done] = await runTrainingExperiment(exp, { seeds: [3], data: 'embedded', runsDir });
  assert.equal(done.steps, 300);
  fs.rmSync(runsDir, { recursive: true, force: true });
});
