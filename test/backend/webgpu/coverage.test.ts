// WebGPU kernel coverage, through lib/bench/coverage.ts. The first test runs everywhere: every kernel that a
// training step and a decode in every cache mode use on the cpu backend must exist in tfjs-backend-webgpu.
// The others need a GPU adapter: they run `mla bench coverage` in a child process (Dawn holds a process open
// while it has a device; the command ends it explicitly) and check webgpu against cpu. Without an adapter
// they are skipped with Dawn's reason. On the GPU machine: scripts/device/run-all.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COVERAGE_PRESETS, type CoverageReport, staticCoverage } from '../../../lib/bench';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/** dist/cli/main.js beside this compiled test. */
const CLI = path.resolve(__dirname, '..', '..', '..', 'cli', 'main.js');

let report: CoverageReport | undefined;
/** The command's report, made once per test file. */
function gpuReport(): CoverageReport {
  if (report) return report;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mla-coverage-')), 'coverage.json');
  const r = spawnSync(process.execPath, [CLI, 'bench', 'coverage', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 540_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (!fs.existsSync(out)) assert.fail(`mla bench coverage wrote no record (exit ${r.status}); stderr:\n${r.stderr.slice(-3000)}`);
  report = JSON.parse(fs.readFileSync(out, 'utf8')).results as CoverageReport;
  return report;
}

test('every kernel of a training step and of decoding in every cache mode has a WebGPU kernel', async () => {
  const s = await staticCoverage();
  assert.deepEqual(s.failed, [], 'every case runs on the cpu backend');
  // The set is not pinned (kernels change with the model code); it must at least hold the core of a transformer.
  for (const k of ['BatchMatMul', 'Softmax', 'GatherV2', 'ScatterNd', 'Concat']) assert.ok(s.used.includes(k), `${k} among ${s.used.join(', ')}`);
  assert.deepEqual(s.missing, [], `kernels tfjs-backend-webgpu lacks: ${s.missing.join(', ')}`);
});

test('webgpu matches cpu: forward, one training step and cached decoding of every attention kind', { timeout: 600_000 }, (t) => {
  const r = gpuReport();
  if (r.adapter === null) {
    t.skip(`no WebGPU adapter: ${r.reason}`);
    return;
  }
  assert.deepEqual(r.failed, [], 'no phase throws on either backend, and no Dawn error scope caught an error');
  assert.deepEqual(r.kernels.missingOnWebgpu, []);
  assert.equal(r.cases.length, COVERAGE_PRESETS.length);
  const bad = r.cases.flatMap((c) => c.checks.filter((k) => !k.pass).map((k) => `${c.preset} ${k.what}: ${k.error ?? `rel ${k.rel} > ${k.tol}`}`));
  assert.deepEqual(bad, []);
  assert.equal(r.largeLoss.ok, true, JSON.stringify(r.largeLoss));
  assert.equal(r.ok, true);
});

// These once read with dataSync, which tfjs-backend-webgpu cannot serve under Dawn in Node
// (data/bench/device/README.md); the library now reads with await data().
test('library entry points that once read results synchronously work on webgpu', { timeout: 600_000 }, (t) => {
  const r = gpuReport();
  if (r.adapter === null) {
    t.skip(`no WebGPU adapter: ${r.reason}`);
    return;
  }
  assert.deepEqual(Object.keys(r.syncReads).sort(), ['decodeCostAt', 'generate', 'perplexity', 'train']);
  assert.deepEqual(Object.entries(r.syncReads).filter(([, v]) => v !== 'ok'), []);
});
