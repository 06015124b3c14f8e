// @ts-check
// The numbers of data/bench/device/ in one table, from the result files the GPU runs brought back: WebGPU
// coverage, training tokens/s and decode ms/token, each next to PyTorch fp32 on the same GPU in the same run,
// with the ratios. Ratios are "ours / PyTorch" in speed (tokens/s over tokens/s; PyTorch ms over our ms), so
// 1 means as fast and 0.5 half as fast.
//
//   node scripts/device/summarize.js [--dir data/bench/device] [--out data/bench/device/summary.json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { flags, emit, runMain, ROOT } = require('./common');

const HELP = 'usage: node scripts/device/summarize.js [--dir data/bench/device] [--out FILE]';

/** @param {string} file */
function readJson(file) {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing; copy the device run's files there first (see data/bench/device/README.md)`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** @param {string} file @returns {any[]} */
function readJsonl(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** @param {number} x */
const r3 = (x) => Math.round(x * 1000) / 1000;

runMain(async () => {
  const v = flags(process.argv.slice(2), { dir: { type: 'string', default: path.join(ROOT, 'data', 'bench', 'device') }, out: { type: 'string' } }, HELP);
  const dir = path.resolve(String(v.dir));
  const run = path.join(dir, 'run-all');
  const cov = readJson(path.join(run, 'coverage.json'));
  const torchTrain = readJsonl(path.join(run, 'torch-train.jsonl'));
  const torchDecode = readJsonl(path.join(run, 'torch-decode.jsonl'));
  const decode = readJson(path.join(run, 'decode-webgpu.json'));

  const coverage = {
    adapter: cov.adapter,
    ok: cov.ok,
    presets: cov.cases.map((/** @type {any} */ c) => c.preset),
    worstRelDiff: Math.max(...cov.cases.flatMap((/** @type {any} */ c) => c.checks.filter((/** @type {any} */ k) => !k.what.startsWith('params')).map((/** @type {any} */ k) => k.rel))),
    worstStepDiffInLr: Math.max(...cov.cases.flatMap((/** @type {any} */ c) => c.checks.filter((/** @type {any} */ k) => k.what.startsWith('params')).map((/** @type {any} */ k) => k.rel))),
    failed: cov.failed,
    missingOnWebgpu: cov.kernels.missingOnWebgpu,
    ranOnCpu: cov.kernels.ranOnCpu,
    syncReads: cov.syncReads,
    deviceLimits: cov.deviceLimits,
  };

  const train = [];
  for (const preset of ['35m-mla-rope', '35m-mha-rope']) {
    const ours = readJson(path.join(run, `train-webgpu-${preset}.json`));
    const torch = (/** @type {string} */ impl) => torchTrain.find((t) => t.preset === preset && t.attnImpl === impl)?.tokensPerSec.median;
    const sdpa = torch('sdpa');
    const manual = torch('manual');
    train.push({
      preset,
      batch: ours.batch,
      seq: ours.seq,
      oursTokensPerSec: Math.round(ours.tokensPerSec.median),
      oursSteps: ours.stepsRun,
      loss: ours.loss,
      torchSdpaTokensPerSec: sdpa && Math.round(sdpa),
      torchManualTokensPerSec: manual && Math.round(manual),
      ratioVsTorchSdpa: sdpa && r3(ours.tokensPerSec.median / sdpa),
      ratioVsTorchManual: manual && r3(ours.tokensPerSec.median / manual),
    });
  }

  const decodeRows = decode.rows.map((/** @type {any} */ d) => {
    const t = torchDecode.find((x) => x.preset === d.preset && x.cache === d.cache && x.promptLen === d.context);
    const torchMs = t?.msPerToken.median;
    return {
      preset: d.preset,
      cache: d.cache,
      context: d.context,
      oursMsPerToken: d.msPerToken && r3(d.msPerToken.median),
      oursFirstPassMsPerToken: d.cold && r3(d.cold.msPerToken.median),
      newShadersPerStep: d.newPipelinesPerStep,
      torchMsPerToken: torchMs && r3(torchMs),
      ratioVsTorch: torchMs && d.msPerToken && r3(torchMs / d.msPerToken.median),
      error: d.error,
    };
  });

  /** @type {Record<string, unknown>} */
  let diagnose = {};
  const diag = path.join(dir, 'diagnose');
  if (fs.existsSync(diag)) {
    const b8 = readJson(path.join(diag, 'train-webgpu-35m-mla-rope-b8-profiled.json'));
    const b2 = readJson(path.join(diag, 'train-webgpu-35m-mla-rope-b2.json'));
    const top = (/** @type {string} */ f) => readJson(path.join(diag, f)).byFunction.slice(0, 8).map((/** @type {any} */ x) => `${x.name} ${(100 * x.share).toFixed(1)}%`);
    diagnose = {
      trainTokensPerSec: { batch8: Math.round(b8.tokensPerSec.median), batch2: Math.round(b2.tokensPerSec.median) },
      trainStepSeconds: { batch8: r3(b8.stepSeconds.median), batch2: r3(b2.stepSeconds.median) },
      trainCpuProfileTop: top('cpuprofile-train-b8.json'),
      decodeCpuProfileTop: top('cpuprofile-decode-kv512.json'),
      smallOpRoundTripMs: r3(readJson(path.join(diag, 'decode-webgpu-profiled.json')).roundTripMs.median),
    };
  }
  const kernelsFile = path.join(dir, 'decode-kernels-per-step.json');
  const kernels = fs.existsSync(kernelsFile) ? readJson(kernelsFile).rows.map((/** @type {any} */ r) => ({ preset: r.preset, cache: r.cache, dispatches: r.dispatches })) : null;

  emit({
    torchDevice: torchTrain[0]?.deviceName,
    torch: torchTrain[0]?.torch,
    tf32: torchTrain[0]?.tf32,
    coverage,
    train,
    decode: decodeRows,
    decodeDispatchesPerStep: kernels,
    diagnose,
  }, v.out);
  return 0;
});
