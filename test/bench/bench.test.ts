// The benchmark plumbing: timing helpers, records, and `mla bench matmul|profile` end to end on tiny sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../lib/backend';
import { startRecord, timeInterleaved, writeRecord } from '../../lib/bench';
import { median } from '../../lib/experiments/stats';

const CLI = path.resolve(__dirname, '..', '..', 'cli', 'main.js');

test('median of odd and even counts, and of nothing', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('timeInterleaved alternates the functions and respects min and max repeats', async () => {
  const calls: string[] = [];
  const times = await timeInterleaved([() => calls.push('a'), () => calls.push('b')], { warmup: 1, warmupMs: 0, minRepeats: 3, maxRepeats: 4, budgetMs: 0 });
  assert.deepEqual(times.map((t) => t.length), [3, 3]);
  assert.deepEqual(calls, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
});

test('writeRecord names the file <kind>-<timestamp>.json and keeps machine and backend fields', async () => {
  await initBackend('cpu');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-'));
  const rec = startRecord('unit', { n: 1 }, [{ x: 2 }]);
  const file = writeRecord(rec, dir);
  assert.match(path.basename(file), /^unit-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(back.kind, 'unit');
  assert.deepEqual(back.settings, { n: 1 });
  assert.ok(back.machine.cores >= 1 && typeof back.machine.cpu === 'string');
  assert.ok('gitCommit' in back && 'gitDirty' in back);
  assert.equal(back.backend.backend, 'cpu');
  assert.match(back.backend.device, /cores/);
  // The settings the backend was started with, so a record says which kernels and shaders ran.
  assert.equal(back.backend.backendSettings.choice, 'cpu');
  assert.deepEqual(Object.keys(back.backend.backendSettings.webgpu).sort(), ['bindGroupCache', 'dawnFlags', 'decodeGraph', 'decodeShader', 'decodeSplitTiles', 'decodeStepRows', 'decodeUnroll', 'flashRows', 'flashTileKiB', 'fused', 'layoutMemo', 'matmul', 'matmulDepth', 'matmulShader', 'nullDevice', 'poolGiB', 'submitBatch', 'timestamps']);
  assert.equal(typeof back.backend.backendSettings.cpu.native, 'boolean');
});

function runCli(args: string[]): { record: Record<string, any>; file: string } {
  const out = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const parsed = JSON.parse(out);
  return { record: parsed, file: parsed.file };
}

test('mla bench matmul --json writes a record with tf and BLAS rates per size and layout', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-'));
  const { record, file } = runCli(['bench', 'matmul', '--sizes', '16,24', '--batched', '--repeats', '2', '--budget-s', '0', '--backend', 'cpu', '--out', dir, '--json']);
  assert.ok(fs.existsSync(file) && path.dirname(file) === dir);
  assert.equal(record.kind, 'matmul');
  assert.equal(record.backend.backend, 'cpu');
  assert.deepEqual(record.settings.sizes, [16, 24]);
  const rows = record.results as { mode: string; n: number; batch: number; tfGflops: number; blasGflops: number | null }[];
  assert.deepEqual(rows.map((r) => `${r.mode}:${r.n}`), ['single:16', 'single:24', 'batched:16', 'batched:24']);
  for (const r of rows) {
    assert.ok(r.tfGflops > 0);
    assert.equal(r.batch, r.mode === 'batched' ? 8 : 1);
    // With native kernels on, the addon is loaded, so the raw BLAS column must be there.
    if (record.backend.native) assert.ok(r.blasGflops !== null && r.blasGflops > 0);
  }
});

test('mla bench matmul rejects a bad --sizes list, naming the flag', () => {
  assert.throws(
    () => execFileSync(process.execPath, [CLI, 'bench', 'matmul', '--sizes', '16,abc'], { encoding: 'utf8', stdio: 'pipe' }),
    (err: { stderr: string; status: number }) => err.status === 2 && /--sizes/.test(err.stderr),
  );
});

test('mla bench profile --json profiles a real preset by phase and kernel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-'));
  const { record } = runCli(['bench', 'profile', '--preset', 'tiny-mla-rope', '--batch', '2', '--seq', '8', '--steps', '2', '--backend', 'cpu', '--out', dir, '--json']);
  assert.equal(record.kind, 'profile');
  assert.equal(record.settings.preset, 'tiny-mla-rope');
  assert.equal(record.settings.config.attention, 'mla');
  assert.equal(record.results.stepsMs.length, 2);
  assert.ok(record.results.stepMs > 0 && Number.isFinite(record.results.loss));
  assert.ok(record.results.parameters > 0);
  for (const phase of ['forwardSeconds', 'forwardBackwardSeconds', 'adamwSeconds']) assert.equal(record.results[phase].n, 2, phase);
  const kernels = record.results.kernels as { kernel: string; ms: number }[];
  assert.ok(kernels.some((k) => k.kernel === 'BatchMatMul' || k.kernel === '_FusedMatMul'));
  for (let i = 1; i < kernels.length; i++) assert.ok(kernels[i - 1].ms >= kernels[i].ms, 'sorted by time');
  assert.ok(record.results.matMulsByShape.length > 0);
  const others = record.results.othersByShape as { shapes: string; calls: number }[];
  assert.ok(others.length > 0 && others.length <= 60);
  assert.ok(others.every((o) => !/^(BatchMatMul|_FusedMatMul|Reshape|Identity) /.test(o.shapes)), 'matmuls and reshapes are listed elsewhere');
  assert.ok(others.some((o) => /^\w+ \[\[/.test(o.shapes)), 'a kernel name then its input shapes');
});
