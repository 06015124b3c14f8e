// mla bench decode: the record of every (mode, context) at a batch, on a tiny preset on the cpu backend.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkBindingLimit, decodeCrossover, type DecodeBenchRow, runDecodeBench } from '../../lib/bench/model-benches';
import { resolveConfig } from '../../lib/config/presets';
import { decodeStepBytes } from '../../lib/costs/decode-bytes';
import { useCpu } from '../helpers/models';
import { registerCpuOpKernels } from '../../lib/backend';
import { CACHE_WRITE_KERNEL } from '../../lib/ops';
import { CPU_CACHE_WRITE } from '../../lib/backend/cpu/kernels/cache-write';
import { DECODE_ATTENTION_KERNELS } from '../../lib/backend/webgpu/kernels/decode-attention';
import { registerSimulated } from '../helpers/simulated-kernels';

registerCpuOpKernels(); // the cpu cache write in place, as initBackend('cpu') has it

const ROOT = path.resolve(__dirname, '..', '..', '..');

test('runDecodeBench: every mode at two contexts, batch 3, with bytes, floor, kernels and crossover', async () => {
  await useCpu();
  const config = resolveConfig('tiny-mla-rope');
  const modes = ['none', 'full', 'latent', 'absorbed'] as const;
  const r = await runDecodeBench(config, { modes: [...modes], contexts: [8, 24], batch: 3, steps: 2, warmup: 1, copyBytes: 2 ** 20 });
  assert.ok(r.copyBandwidth.gbPerS > 0 && Number.isFinite(r.copyBandwidth.gbPerS));
  assert.equal(r.copyBandwidth.method, 'in-place write'); // cpu: into a buffer allocated once
  const bw = r.copyBandwidth;
  assert.ok(bw.hostGbPerS >= bw.gbPerSMedian);
  // The cpu backend's tf.time gives the kernels' wall time: the copies timed together, and the floors' bandwidth
  // the larger of the two ways.
  assert.ok(bw.kernelTimed && bw.kernelTimed.copies === 32 && bw.kernelTimed.kernelMs > 0);
  assert.ok(Math.abs(bw.kernelTimed.gbPerS - (2 * bw.bytes * 32) / (bw.kernelTimed.kernelMs * 1e6)) < 1e-9);
  assert.equal(bw.gbPerS, Math.max(bw.hostGbPerS, bw.kernelTimed.gbPerS));
  assert.equal(r.rows.length, 8);
  for (const row of r.rows) {
    assert.ok(!('error' in row), JSON.stringify(row));
    const x = row as DecodeBenchRow;
    assert.equal(x.batch, 3);
    assert.equal(x.sync, 'end'); // the default: greedy on the device, one read per chunk of steps
    assert.ok(x.msPerStep.median > 0 && x.msPerStep.n === 1); // 2 steps: one chunk
    assert.ok(Math.abs(x.msPerToken - x.msPerStep.median / 3) < 1e-9);
    assert.equal(x.gpuDispatchesPerStep, null); // counted only on WebGPU
    assert.equal(x.kernelTimes.reduce((s, k) => s + k.calls, 0), x.kernelsPerStep); // every profiled kernel, by name
    assert.ok(x.kernelTimes.every((k, i, a) => i === 0 || a[i - 1].ms >= k.ms));
    assert.ok(x.kernelsPerStep > 10 && x.dispatchesPerStep <= x.kernelsPerStep && x.dispatchesPerStep > 0);
    // Every cached tensor of both layers is written in place once a step (latent: latent + kRope; full: k + v);
    // the cpu backend has no fused decode attention, so the step runs the unfused core.
    assert.deepEqual(x.fusedPerStep, { cacheWrite: x.cache === 'none' ? 0 : 2 * config.nLayers, attention: 0 });
    assert.deepEqual(x.stepBytes, decodeStepBytes(config, x.context, x.cache, { batch: 3 }));
    assert.ok(Math.abs(x.floorMs - x.stepBytes.total / (r.copyBandwidth.gbPerS * 1e6)) < 1e-9);
    assert.ok(Math.abs(x.ratioToFloor - x.msPerStep.median / x.floorMs) < 1e-9);
  }
  assert.ok(r.crossover);
  assert.deepEqual(r.crossover.ratios.map((q) => q.context), [8, 24]);
});

test('runDecodeBench measures the fused decode paths where the backend has them: fewer dispatches, one attention kernel per layer', async () => {
  await useCpu();
  const config = resolveConfig('tiny-mla-rope');
  const settings = { modes: ['latent', 'absorbed', 'full'] as const, contexts: [8], batch: 2, steps: 1, warmup: 0, copyBytes: 2 ** 16 };
  const rows = async () => (await runDecodeBench(config, { ...settings, modes: [...settings.modes] })).rows as DecodeBenchRow[];
  tf.unregisterKernel(CACHE_WRITE_KERNEL, 'cpu'); // the tfjs reference: appends by concat, the unfused core
  const reference = await rows();
  tf.registerKernel(CPU_CACHE_WRITE);
  const unregister = registerSimulated(DECODE_ATTENTION_KERNELS); // the WebGPU decode attention, its WGSL run on the CPU
  let fused: DecodeBenchRow[];
  try {
    fused = await rows();
  } finally {
    unregister();
  }
  for (const [i, r] of fused.entries()) {
    const ref = reference[i];
    assert.deepEqual(ref.fusedPerStep, { cacheWrite: 0, attention: 0 }, `${ref.cache}: the reference path`);
    assert.deepEqual(r.fusedPerStep, { cacheWrite: 2 * config.nLayers, attention: config.nLayers }, `${r.cache}: the fused paths`);
    assert.ok(r.dispatchesPerStep < ref.dispatchesPerStep, `${r.cache}: ${r.dispatchesPerStep} dispatches, reference ${ref.dispatchesPerStep}`);
  }
});

test('runDecodeBench --prefill tiled: each row says so, and the step runs the kernels it runs after a real prefill; a bad kind is refused', async () => {
  await useCpu();
  const config = resolveConfig('tiny-mla-rope', { maxSeqLen: 512 });
  const settings = { modes: ['latent', 'absorbed', 'full'] as ('latent' | 'absorbed' | 'full')[], contexts: [300], batch: 2, steps: 1, warmup: 1, copyBytes: 2 ** 16 };
  const real = (await runDecodeBench(config, settings)).rows as DecodeBenchRow[];
  const tiled = (await runDecodeBench(config, { ...settings, prefill: 'tiled' })).rows as DecodeBenchRow[];
  for (const [i, t] of tiled.entries()) {
    assert.equal(real[i].prefill, 'real');
    assert.equal(t.prefill, 'tiled');
    assert.equal(t.kernelsPerStep, real[i].kernelsPerStep, t.cache);
    assert.deepEqual(t.fusedPerStep, real[i].fusedPerStep, t.cache);
    assert.deepEqual(t.stepBytes, real[i].stepBytes, t.cache);
  }
  await assert.rejects(runDecodeBench(config, { ...settings, prefill: 'fake' as never }), /prefill 'fake' must be one of real, tiled/);
});

test('runDecodeBench: a context past maxSeqLen is a row with the fix, not a crash', async () => {
  await useCpu();
  const r = await runDecodeBench(resolveConfig('tiny-mha-rope'), { modes: ['kv'], contexts: [61], batch: 1, steps: 2, warmup: 1, copyBytes: 2 ** 20 });
  assert.match((r.rows[0] as { error: string }).error, /maxSeqLen 64; raise it with --set maxSeqLen=65/);
  assert.equal(r.crossover, null);
});

test('decodeCrossover: the smallest context from which absorbed beats latent and full', () => {
  const row = (cache: string, context: number, ms: number) => ({ cache, context, batch: 1, msPerStep: { median: ms } }) as unknown as DecodeBenchRow;
  const rows = [
    row('absorbed', 512, 10), row('latent', 512, 8), row('full', 512, 9),
    row('absorbed', 1024, 10), row('latent', 1024, 12), row('full', 1024, 9.5),
    row('absorbed', 2048, 11), row('latent', 2048, 20), row('full', 2048, 12),
  ];
  assert.deepEqual(decodeCrossover(rows, 1)!.context, 2048);
  assert.equal(decodeCrossover(rows.slice(0, 3), 1)!.context, null);
  const always = decodeCrossover(rows.slice(6), 1)!;
  assert.equal(always.context, 2048);
  assert.equal(always.atOrBelowRange, true);
});

test('runDecodeBench hands on each cell with the results so far; only the last result is complete', async () => {
  await useCpu();
  const config = resolveConfig('tiny-mla-rope');
  const seen: { rows: number; complete: boolean; crossover: boolean }[] = [];
  const r = await runDecodeBench(config, { modes: ['latent', 'absorbed'], contexts: [8, 16], batch: 1, steps: 1, warmup: 0, copyBytes: 2 ** 20 }, (row, soFar) => {
    assert.equal(soFar.rows[soFar.rows.length - 1], row);
    seen.push({ rows: soFar.rows.length, complete: soFar.complete, crossover: soFar.crossover !== null });
  });
  assert.deepEqual(seen, [1, 2, 3, 4].map((rows) => ({ rows, complete: false, crossover: false })));
  assert.equal(r.complete, true);
  assert.equal(r.rows.length, 4);
});

test('mla bench decode stopped mid-run leaves a record of the cells it finished (complete: false)', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-decode-cut-'));
  const file = path.join(out, 'cut.json');
  try {
    const contexts = [8, 16, 24, 32, 40, 48, 56, 64, 72, 80];
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode', '--preset', 'tiny-mla-rope', '--set', 'maxSeqLen=256',
      '--cache', 'all', '--contexts', contexts.join(','), '--steps', '30', '--warmup', '5', '--backend', 'cpu', '--json', '--out', file], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let partial: { results: { rows: unknown[]; complete: boolean } } | null = null;
    let done = false;
    void exited.then(() => (done = true));
    while (!done && !partial) {
      await new Promise((r) => setTimeout(r, 10));
      if (!fs.existsSync(file)) continue;
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')); // written atomically: never half a file
      if (!rec.results.complete && rec.results.rows.length >= 2) partial = rec;
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(partial, 'a partial record was there to read before the run ended');
    const left = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(left.results.rows.length >= 2 && left.results.rows.length < 4 * contexts.length, `${left.results.rows.length} rows`);
    assert.equal(left.results.complete, false);
    assert.equal(left.kind, 'decode');
    assert.ok(left.results.rows.every((x: DecodeBenchRow) => x.msPerStep.median > 0));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('mla bench decode --cache all --contexts: the record has settings, provenance and a row per mode and context', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-decode-'));
  try {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode', '--preset', 'tiny-mla-rope', '--set', 'maxSeqLen=128',
      '--cache', 'all', '--contexts', '8,80', '--batch', '2', '--steps', '2', '--warmup', '1', '--backend', 'cpu', '--json', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const record = JSON.parse(r.stdout);
    assert.equal(record.kind, 'decode');
    assert.deepEqual(record.settings.modes, ['none', 'latent', 'absorbed', 'full']);
    assert.deepEqual(record.settings.contexts, [8, 80]);
    assert.equal(record.settings.config.maxSeqLen, 128);
    assert.equal(record.settings.backendSettings.choice, 'cpu');
    assert.ok('gitCommit' in record && 'gitDirty' in record && record.machine.cores > 0);
    assert.equal(record.results.rows.length, 8);
    assert.equal(record.results.complete, true);
    assert.ok(record.results.rows.every((x: DecodeBenchRow) => x.ratioToFloor > 0 && x.kernelsPerStep > 0));
    assert.ok(fs.existsSync(record.file));
    const refused = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode', '--preset', 'tiny-mla-rope', '--contexts', '80', '--backend', 'cpu'], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /exceeds maxSeqLen 64; pass --set maxSeqLen=/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('checkBindingLimit: a point whose buffer would not bind is refused with a one-line RangeError naming it; no limit, no check', () => {
  const config = resolveConfig('35m-mla-rope');
  const GiB2 = 2 ** 31;
  assert.throws(() => checkBindingLimit(config, 'full', 32768, 64, GiB2),
    (e: unknown) => e instanceof RangeError && /^cache 'full' at batch 64 × 32768 tokens needs one buffer of 4\.01 GiB, above this device's storage-buffer binding limit of 2\.00 GiB: lower the batch or the context$/.test(e.message));
  assert.doesNotThrow(() => checkBindingLimit(config, 'absorbed', 32768, 16, GiB2));
  assert.doesNotThrow(() => checkBindingLimit(config, 'full', 32768, 64, null));
});
