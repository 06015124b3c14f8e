// Experiment runs are found again by their settings: a finished run is reused, a stopped one resumes, a
// changed setting trains a new run; on WebGPU a device error fails the run at its step, and a rerun resumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { DeviceError } from '../../lib/backend';
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

/**
 * A 'webgpu' backend that computes with the CPU's kernels and has a device with WebGPU's stack of error
 * scopes (an error goes to the innermost open scope of its filter), so that the library's error-scope path
 * runs as on a GPU and a test can raise a device error while a given step's scope is open.
 */
class ScopedCpu extends MathBackendCPU {
  stack: { filter: string; error: string | null }[] = [];
  device = {
    pushErrorScope: (filter: string) => void this.stack.push({ filter, error: null }),
    popErrorScope: async () => {
      const s = this.stack.pop();
      if (!s) throw new Error('popErrorScope on an empty stack');
      return s.error === null ? null : { message: s.error };
    },
  };
  raise(filter: string, message: string): void {
    const s = [...this.stack].reverse().find((x) => x.filter === filter);
    if (s && s.error === null) s.error = message;
  }
}

test('on WebGPU a device error while step 4 runs fails the run at step 4; steps 1–3 and the step-2 checkpoint stay, and a rerun resumes', async () => {
  await useCpu(); // registers the cpu backend's kernels, which the stand-in borrows
  const kernels = tf.getKernelsForBackend('cpu');
  for (const k of kernels) tf.registerKernel({ ...k, backendName: 'webgpu' });
  const gpu = new ScopedCpu();
  tf.registerBackend('webgpu', () => gpu, -1);
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-runs-'));
  const spec: RunSpec = {
    preset: 'tiny-mla-norope',
    seed: 5,
    data: 'embedded',
    train: { tokens: 6 * 4 * 32, batchSize: 4, seqLen: 32, accumSteps: 1, evalEvery: 0, evalTokens: 256, checkpointEvery: 2 },
  };
  try {
    await tf.setBackend('webgpu');
    // Raised after step 3 is logged, so into the scope step 4 runs in (the check of step 3 opened it).
    const hooks = { onStep: (m: { step: number }) => void (m.step === 3 && gpu.raise('validation', 'Invalid CommandBuffer "mlaFlash" (dropped)')) };
    await assert.rejects(ensureRun(spec, { runsDir, hooks }), (e: unknown) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /^run tiny-mla-norope seed 5: training, step 4: the GPU device reported an error, .*: validation: Invalid CommandBuffer "mlaFlash" \(dropped\)$/);
      assert.equal(e.message.includes('\n'), false, 'one line');
      return true;
    });
    assert.deepEqual(gpu.stack, [], 'every scope popped');
  } finally {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
    for (const k of kernels) tf.unregisterKernel(k.kernelName, 'webgpu');
  }
  const runDir = fs.readdirSync(runsDir).map((d) => path.join(runsDir, d)).find((d) => fs.existsSync(path.join(d, 'config.json')))!;
  const lines = () => fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'train');
  assert.deepEqual(lines().map((l) => l.step), [1, 2, 3], 'step 4 is not logged');
  assert.equal(JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'latest.json'), 'utf8')).step, 2);
  assert.equal(fs.existsSync(path.join(runDir, 'result.json')), false, 'not marked finished');
  const done = await ensureRun(spec, { runsDir });
  assert.equal(done.runDir, runDir);
  assert.equal(done.steps, 6);
  assert.deepEqual(lines().map((l) => l.step), [1, 2, 3, 4, 5, 6], 'resumed from step 2, each step logged once');
  fs.rmSync(runsDir, { recursive: true, force: true });
});
