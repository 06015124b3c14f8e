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
import { createNullGpu, NULL_GPU_GLOBALS } from '../../../lib/backend/webgpu/null-gpu';
import { FUSED_GROUPS } from '../../../lib/settings';

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

/** Every fused group but the decode step's (MLA_WEBGPU_FUSED): a step then runs the op path. */
const WITHOUT_STEP = FUSED_GROUPS.filter((g) => g !== 'step').join(',');

test('null device: on the op path (no step kernels), outside a gradient tape the MLP and the head run as fused matmuls (bias and relu in the epilogue), two dispatches fewer per layer', () => {
  const layers = 2; // tiny-*: the preset's nLayers, checked below through the counts
  const { record } = benchDecode('tiny-mha-rope', 'kv', { MLA_WEBGPU_FUSED: WITHOUT_STEP });
  const row = record.results.rows[0];
  assert.equal(calls(row, '_FusedMatMul'), 2 * layers + 1, 'w_in (+ bias, relu), w_out (+ bias) per layer, and the head (+ bias)');
  assert.equal(calls(row, 'Relu'), 0, 'relu rides in w_in\'s epilogue');
  assert.equal(calls(row, 'Add'), 2 * layers, 'the residual adds alone: no bias adds');
});

// The fused decode step (lib/ops/decode-linear.ts, decode-heads.ts, cache-write.ts's cacheWriteFrom): per layer
// MHA's 17 dispatches (LN, Q, K, V, 2 RoPE, 2 cache writes, attention, W_o, add, LN, W_in, W_out's split-K fill,
// product and bias, add) become 8 — LN+QKV, the q gather (rotated), the k write (rotated), the v write, attention,
// W_o+residual, LN+W_in+bias+relu, W_out+bias+residual — and absorbed MLA's 25 become 11. Plus the embedding gather,
// the head and the greedy argmax (the bench's step picks its next token on the device, lib/generate/decode-loop.ts). Exact counts: each is a dispatch the GPU machine pays ~75 µs of host time for.
for (const [preset, cache, fused, ops] of [['tiny-mha-rope', 'kv', 2 * 8 + 3, 33], ['tiny-mla-rope', 'absorbed', 2 * 11 + 3, 49], ['tiny-mla-rope', 'latent', 2 * 13 + 3, 55], ['tiny-mla-rope', 'full', 2 * 11 + 3, 57]] as const) {
  test(`null device: ${preset} '${cache}' decodes in ${fused} GPU dispatches a step on the step kernels (${ops} on the op path)`, () => {
    const on = benchDecode(preset, cache).record.results.rows[0];
    const off = benchDecode(preset, cache, { MLA_WEBGPU_FUSED: WITHOUT_STEP }).record.results.rows[0];
    assert.equal(on.gpuDispatchesPerStep, fused, JSON.stringify(on.kernelTimes.map((k) => [k.kernel, k.calls])));
    assert.equal(off.gpuDispatchesPerStep, ops);
    assert.equal(calls(on, 'MlaDecodeAttention1') + calls(on, 'MlaDecodeAttention2'), 2, 'one fused attention per layer');
  });
}

test('null device: a binding over the storage limit is a validation error in the innermost validation scope, as on Dawn', async () => {
  const adapter = (await createNullGpu().requestAdapter()) as { requestDevice(): Promise<any> };
  const device = await adapter.requestDevice();
  const { STORAGE, UNIFORM } = NULL_GPU_GLOBALS.GPUBufferUsage;
  // 128 windows × 1,024 tokens × 10,000 logits in fp32: the latentQuant forward the H200's Dawn refused.
  const logits = device.createBuffer({ size: 128 * 1024 * 10000 * 4, usage: STORAGE });
  const small = device.createBuffer({ size: 1024, usage: STORAGE | UNIFORM });
  const layout = device.createComputePipeline({}).getBindGroupLayout(0);
  device.pushErrorScope('validation');
  device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: small } }] });
  assert.equal(await device.popErrorScope(), null);
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: small } }, { binding: 1, resource: { buffer: logits } }] });
  assert.equal(await device.popErrorScope(), null, 'not an out-of-memory error');
  const e = await device.popErrorScope();
  assert.match(e?.message ?? '', /^Binding size \(5242880000\) of \[Buffer \(unlabeled\)\] is larger than the maximum storage buffer binding size \(2147483644\)\.$/);
  // A window of the same buffer that fits is fine; with no scope open an error is dropped, and nothing throws.
  device.pushErrorScope('validation');
  device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: logits, offset: 256, size: 2 ** 30 } }] });
  assert.equal(await device.popErrorScope(), null);
  device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: logits } }] });
  await assert.rejects(() => device.popErrorScope(), /no error scope is open/);
});

/** Runs `body` (CommonJS, inside an async function, with lib's modules as L.*) in a process of its own on the null device; its stdout lines. */
function onNullDevice(body: string): string[] {
  const lib = path.join(__dirname, '..', '..', '..', 'lib');
  const mod = (...p: string[]) => `require(${JSON.stringify(path.join(lib, ...p))})`;
  const script = `const L = { ...${mod('backend')}, ...${mod('model', 'gpt')}, ...${mod('config', 'presets')}, ...${mod('eval', 'perplexity')}, ...${mod('generate', 'decode-perplexity')} };
    (async () => { await L.initBackend('webgpu'); ${body} })().catch((e) => { console.log('unexpected: ' + e.message); process.exitCode = 1; });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, MLA_WEBGPU_NULL_DEVICE: 'on' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout.trim().split('\n');
}

test('null device: latentQuant\'s forward (35M MLA, 128 windows × 1,024 tokens, vocabulary 10,000) fails as on the H200 unsplit, and passes split', () => {
  // Random weights: only the bindings matter here.
  const lines = onNullDevice(`
    const model = L.createModel(L.resolveConfig('35m-mla-rope'), 0);
    const tokens = new Uint16Array(128 * 1024 + 1).map((_, i) => (i * 37) % 10000);
    for (const maxLogits of [Infinity, undefined]) {
      try {
        const r = await L.withDeviceErrorScope(() => L.perplexity(model, tokens, { seqLen: 1024, batchSize: 128, maxLogits }), 'forward');
        console.log('scored ' + r.tokens);
      } catch (e) { console.log(e.message); }
    }`);
  assert.deepEqual(lines, [
    'forward: the GPU device reported an error, so its results are not trustworthy (a dropped command buffer reads as zeros): validation: Binding size (5242880000) of [Buffer (unlabeled)] is larger than the maximum storage buffer binding size (2147483644).',
    'scored 131072',
  ]);
});

test('null device: a quantized latent cache decodes on webgpu in every format and MLA cache mode (tfjs-webgpu\'s Select stops at rank 4)', () => {
  const lines = onNullDevice(`
    const model = L.createModel(L.resolveConfig('tiny-mla-rope'), 0);
    const tokens = new Uint16Array(3 * 8 + 1).map((_, i) => (i * 37) % model.config.vocabSize);
    for (const mode of ['latent', 'absorbed']) for (const format of ['int8', 'int4', 'fp8']) {
      try {
        const r = await L.withDeviceErrorScope(() => L.decodePerplexity(model, tokens, { seqLen: 8, windows: 3, mode, quant: { format, groupSize: 16 } }), 'decode');
        console.log(mode + ' ' + format + ': ' + r.tokens);
      } catch (e) { console.log(mode + ' ' + format + ': ' + e.message); }
    }`);
  assert.deepEqual(lines, ['latent', 'absorbed'].flatMap((m) => ['int8', 'int4', 'fp8'].map((f) => `${m} ${f}: 24`)));
});

test('null device: no run or study result is written under the data root (it would read perplexity 1.00 and be reused); a scratch --runs-dir takes a dry run', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-null-root-'));
  try {
    const env = { ...process.env, MLA_WEBGPU_NULL_DEVICE: 'on', MLA_DATA_ROOT: root };
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, [MAIN, 'experiment', 'run', '--experiment', 'rankSweep', '--scale', 'smoke', '--presets', 'mla-kv8', '--seeds', '0', '--backend', 'webgpu', ...extra], { encoding: 'utf8', env });
    const refused = run();
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /^mla: run .*tiny-mla-rope-seed0-\w+: the null WebGPU device \(MLA_WEBGPU_NULL_DEVICE=on\) computes nothing, .*nothing is written under .*: give a scratch --runs-dir for a dry run, or unset MLA_WEBGPU_NULL_DEVICE$/m);
    assert.deepEqual(fs.existsSync(path.join(root, 'runs')) ? fs.readdirSync(path.join(root, 'runs')) : [], [], 'no run folder');
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-null-scratch-'));
    try {
      const dry = run('--runs-dir', scratch);
      assert.equal(dry.status, 0, dry.stderr);
      const [folder] = fs.readdirSync(scratch);
      const result = JSON.parse(fs.readFileSync(path.join(scratch, folder, 'result.json'), 'utf8')) as { device: string; valPerplexity: number };
      assert.match(result.device, /null-device/);
      assert.equal(result.valPerplexity, 1, 'every value is zero there: the loss too');
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
