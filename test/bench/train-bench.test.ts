// The trainer-driven training benchmark (lib/bench/train.ts, `mla bench train`) on the cpu backend with a tiny
// preset: its result and record shape, a token file, the --max-seconds cap, the CPU profile and the CLI's
// one-line flag errors. The same code measures the GPU figure on WebGPU (scripts/device/run-all.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../lib/backend';
import { MIN_TIMED_STEPS, TRAIN_BENCH_DEFAULTS, readTokenFile, runTrainBench, startRecord, writeRecord } from '../../lib/bench';
import { parseOverrides, resolveConfig } from '../../lib/config/presets';

const CLI = path.resolve(__dirname, '..', '..', 'cli', 'main.js');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mla-bench-train-test-'));
const TINY = { ...TRAIN_BENCH_DEFAULTS, batch: 2, seqLen: 16, warmup: 1, steps: 2 };

function tokenFile(n: number, vocab: number): string {
  const file = path.join(tmp(), 'train.u16');
  const ids = new Uint16Array(n).map((_, i) => (i * 7919 + 3) % vocab);
  fs.writeFileSync(file, Buffer.from(ids.buffer));
  return file;
}

test('runTrainBench times warmup + steps through the trainer and keeps the timed steps apart', async () => {
  await initBackend('cpu');
  const config = resolveConfig('tiny-mla-rope', parseOverrides(['nLayers=1', 'nHeads=2']));
  const seen: number[] = [];
  const r = await runTrainBench(config, TINY, (s) => seen.push(s.step));
  assert.equal(r.error, null);
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(r.stepsRun, 3);
  assert.equal(r.tokensPerStep, 2 * 16);
  assert.equal(r.tokensPerSec?.n, 2, 'the warm-up step is not timed');
  assert.ok(r.tokensPerSec!.median > 0 && r.stepSeconds!.median > 0);
  assert.ok(Math.abs(r.tokensPerSec!.median * r.stepSeconds!.median - 32) < 32 * 0.5, 'tokens/s and seconds per step agree');
  assert.deepEqual(r.data, { source: 'random' });
  assert.equal(r.cappedBySeconds, false);
  assert.equal(r.profile, null);
  // The trainer's own metrics: its learning rate schedule (warm-up from below the peak) and gradient norms.
  for (const s of r.steps) assert.ok(s.lr > 0 && s.lr <= TINY.lr && Number.isFinite(s.gradNorm) && Number.isFinite(s.loss));
  assert.equal(r.steps[0].gpuMiB, null, 'no GPU memory on cpu');
});

test('the bench record holds settings, backend settings and provenance, at a given .json path', async () => {
  await initBackend('cpu');
  const config = resolveConfig('tiny-mha-rope');
  const r = await runTrainBench(config, { ...TINY, warmup: 0, steps: 1 });
  const file = path.join(tmp(), 'sub', 'train-x.json');
  const written = writeRecord(startRecord('train', { preset: 'tiny-mha-rope', ...TINY, config }, r), file);
  assert.equal(written, file);
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(back.kind, 'train');
  assert.ok('gitCommit' in back && 'gitDirty' in back && back.machine.cores >= 1);
  assert.equal(back.backend.backend, 'cpu');
  assert.ok(back.backend.backendSettings.webgpu && back.backend.backendSettings.cpu);
  assert.equal(back.settings.config.attention, 'mha');
  assert.equal(back.results.stepsRun, 1);
});

test('a uint16 token file feeds the trainer; ids outside the vocabulary and odd sizes are refused', async () => {
  await initBackend('cpu');
  const config = resolveConfig('tiny-mla-rope');
  const file = tokenFile(4096, config.vocabSize);
  const r = await runTrainBench(config, { ...TINY, tokensFile: file });
  assert.equal(r.error, null);
  assert.deepEqual(r.data, { source: 'file', file, tokens: 4096 });
  assert.throws(() => readTokenFile(file, 100), /outside the model's vocabulary of 100/);
  const odd = path.join(tmp(), 'odd.u16');
  fs.writeFileSync(odd, Buffer.alloc(5));
  assert.throws(() => readTokenFile(odd, 512), /not a whole number of uint16 ids/);
  await assert.rejects(runTrainBench(config, { ...TINY, tokensFile: path.join(tmp(), 'none.u16') }), { name: 'BenchError' });
});

test('--max-seconds stops the run but keeps warm-up + MIN_TIMED_STEPS steps', async () => {
  await initBackend('cpu');
  const config = resolveConfig('tiny-mqa-rope');
  const r = await runTrainBench(config, { ...TINY, warmup: 1, steps: 50, maxSeconds: 1e-6 });
  assert.equal(r.error, null);
  assert.equal(r.stepsRun, 1 + MIN_TIMED_STEPS);
  assert.equal(r.cappedBySeconds, true);
  assert.equal(r.tokensPerSec?.n, MIN_TIMED_STEPS);
});

test('--profile and --cpu-profile add the phases, kernels and a host profile of the timed steps', async () => {
  await initBackend('cpu');
  const config = resolveConfig('tiny-mla-norope');
  const cpuFile = path.join(tmp(), 'train.cpuprofile');
  const r = await runTrainBench(config, { ...TINY, profile: true, cpuProfile: cpuFile });
  assert.equal(r.error, null);
  assert.ok(r.profile && r.profile.kernels.length > 0 && r.profile.forwardBackwardSeconds.n === 3);
  assert.ok(r.profile.kernels.some((k) => k.kernel === 'BatchMatMul' || k.kernel === '_FusedMatMul'));
  assert.ok(fs.existsSync(cpuFile), 'the raw .cpuprofile is written');
  assert.ok(r.cpuProfile && r.cpuProfile.sampledMs >= 0 && r.cpuProfile.byPackage.length > 0);
});

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

test('mla bench train --json writes the record to --out F.json and prints it', () => {
  const out = path.join(tmp(), 'train.json');
  const file = tokenFile(2048, 512);
  const r = cli(['bench', 'train', '--preset', 'tiny-mla-rope', '--set', 'nLayers=1', '--batch', '2', '--seq', '8', '--warmup', '1', '--steps', '2', '--tokens-file', file, '--max-seconds', '60', '--backend', 'cpu', '--out', out, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.equal(printed.file, out);
  const rec = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rec.kind, 'train');
  assert.deepEqual(
    { preset: rec.settings.preset, overrides: rec.settings.overrides, batch: rec.settings.batch, seqLen: rec.settings.seqLen, maxSeconds: rec.settings.maxSeconds, tokensFile: rec.settings.tokensFile },
    { preset: 'tiny-mla-rope', overrides: ['nLayers=1'], batch: 2, seqLen: 8, maxSeconds: 60, tokensFile: file },
  );
  assert.equal(rec.settings.config.nLayers, 1);
  assert.equal(rec.results.tokensPerSec.n, 2);
  assert.equal(rec.results.data.source, 'file');
});

test('bench train, profile and coverage refuse bad flags in one line with exit 2, before any work', () => {
  const cases: [string[], RegExp][] = [
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--max-seconds', '0'], /^mla: bench train: --max-seconds must be a number of seconds > 0, got '0'$/],
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--seq', '65'], /^mla: bench train: --seq 65 exceeds tiny-mla-rope's maxSeqLen 64; lower --seq or pass --set maxSeqLen=65$/],
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--tokens-file', '/nonexistent/t.u16'], /^mla: bench train: --tokens-file \/nonexistent\/t\.u16 does not exist; /],
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--steps', '0'], /^mla: bench train: --steps must be an integer ≥ 1, got '0'$/],
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--lr=-1'], /^mla: bench train: --lr must be a positive number, got '-1'$/],
    [['bench', 'train', '--preset', 'tiny-mla-rope', '--bogus'], /^mla: bench train: Unknown option '--bogus'/],
    [['bench', 'profile', '--preset', 'tiny-mla-rope', '--seq', '100'], /^mla: bench profile: --seq 100 exceeds tiny-mla-rope's maxSeqLen 64; /],
    [['bench', 'coverage', '--backend', 'tensorflow'], /^mla: bench coverage: --backend must be webgpu or cpu, got 'tensorflow'$/],
    [['bench', 'coverage', '--presets', 'tiny-mla-rope,tiny-nope'], /^mla: bench coverage: --presets 'tiny-mla-rope,tiny-nope': unknown tiny-nope; known: /],
  ];
  for (const [args, want] of cases) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const first = r.stderr.trim().split('\n').filter((l) => !/^note:|^backend:/.test(l))[0];
    assert.match(first, want, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
