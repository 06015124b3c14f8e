// The coverage module's parts that need no GPU: its comparison arithmetic, and the whole check with the native
// CPU kernels as the backend under test (--backend cpu), so that every phase and the record shape run here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { maxDiff, worstOf } from '../../lib/bench/coverage';
import { COVERAGE_TOLERANCES, gpuErrorScope, runCoverage, summarizeCpuProfile } from '../../lib/bench';
import { initBackend, withDeviceErrorScope } from '../../lib/backend';
import { nativeSkipReason } from '../backend/cpu/helpers';

const CLI = path.resolve(__dirname, '..', '..', 'cli', 'main.js');

test('maxDiff: largest difference relative to the reference; NaN and length mismatches are infinite', () => {
  assert.deepEqual(maxDiff([1, 2, 3], [1, 2.5, 4]), { maxAbsDiff: 1, refMaxAbs: 4, rel: 0.25 });
  assert.equal(maxDiff([1, NaN], [1, 2]).maxAbsDiff, Infinity);
  assert.equal(maxDiff([1], [1, 2]).rel, Infinity);
});

test('worstOf: the worst tensor, a missing one counts as infinite, tiny tensors floored at 1e-3 of the largest', () => {
  const ref = { a: new Float32Array([1, 2]), b: new Float32Array([1e-6, 0]) };
  const w = worstOf({ a: new Float32Array([1, 2.002]), b: new Float32Array([2e-6, 0]) }, ref);
  assert.equal(w.name, 'a'); // b's 1e-6 error over the floor 2e-3 is 5e-4, a's 0.002/2 is 1e-3
  assert.ok(Math.abs(w.rel - 1e-3) < 1e-6);
  assert.equal(worstOf({ a: ref.a }, ref).rel, Infinity);
});

test('a GPU error scope off WebGPU catches nothing and passes values and exceptions through', async () => {
  await initBackend('cpu');
  assert.equal(await gpuErrorScope().end(), null);
  // withDeviceErrorScope, which the library wraps GPU work in: the value itself, the exception itself, a no-op check.
  assert.equal(await withDeviceErrorScope(async (check) => (await check('step 1'), 7), 'bench'), 7);
  await assert.rejects(withDeviceErrorScope(async () => Promise.reject(new Error('boom')), 'bench'), /^Error: boom$/);
});

test('runCoverage with the native cpu kernels under test: every check of a case passes and the report is complete', { skip: nativeSkipReason() }, async () => {
  const r = await runCoverage({ presets: ['tiny-mla-rope'], backend: 'cpu' });
  assert.ok(r.adapter !== null);
  if (r.adapter === null) return;
  assert.deepEqual(r.failed, []);
  assert.equal(r.cases.length, 1);
  const whats = r.cases[0].checks.map((c) => c.what);
  for (const w of ['logits', 'decode:latent vs cpu', 'decode:absorbed vs own forward', 'loss', 'grads (worst tensor)', 'global gradient norm', 'params after one AdamW step (in lr)']) {
    assert.ok(whats.includes(w), `${w} among ${whats.join(', ')}`);
  }
  assert.deepEqual(r.cases[0].checks.filter((c) => !c.pass), []);
  assert.deepEqual(r.syncReads, { decodeCostAt: 'ok', generate: 'ok', perplexity: 'ok', train: 'ok' });
  assert.equal(r.largeLoss.ok, true);
  assert.equal(r.tolerances, COVERAGE_TOLERANCES);
  assert.ok(r.kernels.used.BatchMatMul > 0 || r.kernels.used._FusedMatMul > 0);
  assert.equal(r.ok, true);
});

test('mla bench coverage without a GPU adapter records the reason and exits 0', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mla-cov-')), 'coverage.json');
  const r = spawnSync(process.execPath, [CLI, 'bench', 'coverage', '--out', out], { encoding: 'utf8', timeout: 120_000 });
  const rec = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rec.kind, 'coverage');
  if (rec.results.adapter !== null) return; // a GPU machine: test/backend/webgpu/coverage.test.ts checks it
  assert.equal(r.status, 0, r.stderr);
  assert.match(rec.results.reason, /adapter|webgpu/i);
});

test('summarizeCpuProfile: self time by package and function, native time charged to its JavaScript caller', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const prof = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
      { id: 2, callFrame: frame('runKernel', '/x/node_modules/@tensorflow/tfjs-core/dist/engine.js'), children: [3] },
      { id: 3, callFrame: frame('', '') },
      { id: 4, callFrame: frame('(idle)', '') },
    ],
    samples: [2, 3, 3, 4],
    timeDeltas: [1000, 2000, 2000, 5000],
    startTime: 0,
    endTime: 10_000,
  };
  const s = summarizeCpuProfile(prof);
  assert.equal(s.wallMs, 10);
  assert.equal(s.sampledMs, 10);
  assert.deepEqual(s.byPackage.map((p) => [p.name, p.ms]), [['(idle)', 5], ['(native or V8)', 4], ['@tensorflow/tfjs-core', 1]]);
  assert.deepEqual(s.nativeByCaller, [{ name: 'runKernel engine.js:1', ms: 4, share: 0.4 }]);
});
