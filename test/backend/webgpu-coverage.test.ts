// WebGPU kernel coverage, through scripts/device/coverage.js. The first test runs everywhere: every kernel
// that a training step and a decode in every cache mode use on the cpu backend must exist in
// tfjs-backend-webgpu. The others need a GPU adapter: they run the script in a child process (Dawn holds a
// process open while it has a device; the script exits explicitly) and check webgpu against cpu. Without an
// adapter they are skipped with Dawn's reason. On the GPU machine: scripts/device/run-all.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'device', 'coverage.js');

interface Check {
  what: string;
  pass: boolean;
  rel?: number;
  tol?: number;
  error?: string;
}
interface CoverageReport {
  adapter: string | null;
  reason?: string;
  ok?: boolean;
  cases?: { preset: string; ok: boolean; checks: Check[] }[];
  failed?: { backend: string; preset: string; phase: string; error: string }[];
  kernels?: { used: Record<string, number>; missingOnWebgpu: string[] };
  syncReads?: Record<string, string>;
}
interface CoverageModule {
  DEFAULT_PRESETS: string[];
  staticCoverage(presets?: string[]): Promise<{ used: string[]; missing: string[]; failed: { preset: string; phase: string; error: string }[] }>;
}

// A plain-JS script (it also runs on the GPU machine without a TypeScript build of itself).
const coverage = require(SCRIPT) as CoverageModule;

let report: CoverageReport | undefined;
/** The script's report, run once per test file. */
function gpuReport(): CoverageReport {
  if (report) return report;
  const r = spawnSync(process.execPath, [SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 540_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  try {
    report = JSON.parse(r.stdout) as CoverageReport;
  } catch {
    assert.fail(`coverage.js printed no JSON report (exit ${r.status}); stderr:\n${r.stderr.slice(-3000)}`);
  }
  return report;
}

test('every kernel of a training step and of decoding in every cache mode has a WebGPU kernel', async () => {
  const s = await coverage.staticCoverage();
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
  assert.deepEqual(r.failed, [], 'no phase throws on either backend');
  assert.deepEqual(r.kernels?.missingOnWebgpu, []);
  assert.equal(r.cases?.length, coverage.DEFAULT_PRESETS.length);
  const bad = (r.cases ?? []).flatMap((c) =>
    c.checks.filter((k) => !k.pass).map((k) => `${c.preset} ${k.what}: ${k.error ?? `rel ${k.rel} > ${k.tol}`}`),
  );
  assert.deepEqual(bad, []);
  assert.equal(r.ok, true);
});

// Once these read with dataSync, which tfjs-backend-webgpu cannot serve under Dawn (data/bench/device/README.md);
// tfjs's raw Tensor.dataSync is not probed, since no change to the library could make it pass.
test('library entry points that once read results synchronously work on webgpu', { timeout: 600_000 }, (t) => {
  const r = gpuReport();
  if (r.adapter === null) {
    t.skip(`no WebGPU adapter: ${r.reason}`);
    return;
  }
  assert.deepEqual(Object.keys(r.syncReads ?? {}).sort(), ['decodeCostAt', 'generate', 'perplexity', 'train']);
  const failing = Object.entries(r.syncReads ?? {}).filter(([, v]) => v !== 'ok');
  assert.deepEqual(failing, []);
});
