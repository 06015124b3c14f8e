// The null WebGPU (lib/backend/webgpu/null-gpu.ts, MLA_WEBGPU_NULL_DEVICE=on) runs the webgpu backend's whole host
// side — tfjs-backend-webgpu, the project's kernel registrations, programs, bind group cache, dispatch counting —
// on a machine with no GPU. So CI runs every decode path's host code on the webgpu backend: an exception in a
// kernel's JavaScript (shapes, uniforms, plans) fails here, although no shader runs and every value is zero.
// Each run is its own process: a backend's device and globals are set once per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', '..', '..', 'cli', 'main.js');

interface Row {
  cache: string;
  gpuDispatchesPerStep: number | null;
  dispatchesPerStep: number;
  fusedPerStep: { cacheWrite: number; attention: number };
  kernelTimes: { kernel: string; calls: number }[];
}

function benchDecode(preset: string, cache: string, env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-null-gpu-'));
  try {
    const out = path.join(dir, 'r.json');
    const args = [MAIN, 'bench', 'decode', '--preset', preset, '--cache', cache, '--contexts', '48', '--steps', '2', '--warmup', '1', '--backend', 'webgpu', '--out', out];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, MLA_WEBGPU_NULL_DEVICE: 'on', ...env } });
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, stderr: r.stderr, record: JSON.parse(fs.readFileSync(out, 'utf8')) as { backend: { backend: string; device: string; backendSettings: { webgpu: { nullDevice: boolean } } }; results: { rows: Row[] } } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const calls = (row: Row, kernel: string) => row.kernelTimes.find((k) => k.kernel === kernel)?.calls ?? 0;

test('null device: every MLA cache mode decodes through the webgpu backend, fused kernels and dispatch counts in the record', () => {
  const { stdout, stderr, record } = benchDecode('tiny-mla-rope', 'all');
  assert.match(stderr, /^backend: webgpu \(null \/ null-device \/ no GPU: host time only\)$/m);
  assert.match(stdout, /^null device \(MLA_WEBGPU_NULL_DEVICE=on\): ms\/step is host time alone; the copy bandwidth, floors and crossover below mean nothing$/m);
  assert.equal(record.backend.backend, 'webgpu');
  assert.equal(record.backend.backendSettings.webgpu.nullDevice, true, 'the record says it ran on the null device');
  const rows = record.results.rows;
  assert.deepEqual(rows.map((r) => r.cache).sort(), ['absorbed', 'full', 'latent', 'none']);
  for (const r of rows) {
    assert.ok((r.gpuDispatchesPerStep ?? 0) > 0, `${r.cache}: dispatches counted`);
    // A decode step writes its cache in place and attends with the fused kernel, in every cached mode.
    if (r.cache !== 'none') assert.ok(r.fusedPerStep.cacheWrite > 0 && r.fusedPerStep.attention > 0, `${r.cache}: ${JSON.stringify(r.fusedPerStep)}`);
  }
});

test('null device: outside a gradient tape the MLP and the head run as fused matmuls (bias and relu in the epilogue), two dispatches fewer per layer', () => {
  const layers = 2; // tiny-*: the preset's nLayers, checked below through the counts
  const { record } = benchDecode('tiny-mha-rope', 'kv');
  const row = record.results.rows[0];
  assert.equal(calls(row, '_FusedMatMul'), 2 * layers + 1, 'w_in (+ bias, relu), w_out (+ bias) per layer, and the head (+ bias)');
  assert.equal(calls(row, 'Relu'), 0, 'relu rides in w_in\'s epilogue');
  assert.equal(calls(row, 'Add'), 2 * layers, 'the residual adds alone: no bias adds');
});
