// The numbers of a GPU-machine run folder (data/bench/device/run-all/ and diagnose/) in one table: WebGPU
// coverage, training tokens/s and decode ms/token, each next to PyTorch fp32 on the same GPU in the same run,
// with the ratios. Ratios are "ours / PyTorch" in speed (tokens/s over tokens/s; PyTorch ms over our ms), so 1
// means as fast and 0.5 half as fast. It reads both the files of the old untyped scripts (figures at the top
// level) and `mla bench` records (figures under `results`, settings under `settings`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './errors';

// The files are JSON written by other programs (and PyTorch): read loosely, field by field.
type Doc = any;

function readJson(file: string): Doc {
  if (!fs.existsSync(file)) throw new BenchError(`${file} is missing; copy the device run's files there first (see data/bench/device/README.md)`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function readJsonl(file: string): Doc[] {
  if (!fs.existsSync(file)) throw new BenchError(`${file} is missing; copy the device run's files there first (see data/bench/device/README.md)`);
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** A bench record's results with its settings beside them, or an old script's file as it is. */
function flat(doc: Doc): Doc {
  return doc && typeof doc === 'object' && 'results' in doc && 'kind' in doc ? { ...doc.settings, ...doc.results, seq: doc.settings?.seqLen } : doc;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function summarizeDeviceRuns(dir: string): Record<string, unknown> {
  const run = path.join(dir, 'run-all');
  const cov = flat(readJson(path.join(run, 'coverage.json')));
  const torchTrain = readJsonl(path.join(run, 'torch-train.jsonl'));
  const torchDecode = readJsonl(path.join(run, 'torch-decode.jsonl'));
  const decode = flat(readJson(path.join(run, 'decode-webgpu.json')));
  const checks = (pick: (what: string) => boolean): number[] => cov.cases.flatMap((c: Doc) => c.checks.filter((k: Doc) => pick(k.what)).map((k: Doc) => k.rel));
  const coverage = {
    adapter: cov.adapter,
    ok: cov.ok,
    presets: cov.cases.map((c: Doc) => c.preset),
    worstRelDiff: Math.max(...checks((w) => !w.startsWith('params'))),
    worstStepDiffInLr: Math.max(...checks((w) => w.startsWith('params'))),
    failed: cov.failed,
    missingOnWebgpu: cov.kernels.missingOnWebgpu,
    ranOnCpu: cov.kernels.ranOnCpu,
    syncReads: cov.syncReads,
    deviceLimits: cov.deviceLimits,
  };
  const train = ['35m-mla-rope', '35m-mha-rope'].map((preset) => {
    const ours = flat(readJson(path.join(run, `train-webgpu-${preset}.json`)));
    const torch = (impl: string): number | undefined => torchTrain.find((t) => t.preset === preset && t.attnImpl === impl)?.tokensPerSec.median;
    const [sdpa, manual] = [torch('sdpa'), torch('manual')];
    const tps = ours.tokensPerSec.median as number;
    return {
      preset,
      batch: ours.batch,
      seq: ours.seq,
      oursTokensPerSec: Math.round(tps),
      oursSteps: ours.stepsRun,
      loss: ours.loss,
      torchSdpaTokensPerSec: sdpa && Math.round(sdpa),
      torchManualTokensPerSec: manual && Math.round(manual),
      ratioVsTorchSdpa: sdpa && r3(tps / sdpa),
      ratioVsTorchManual: manual && r3(tps / manual),
    };
  });
  const decodeRows = (decode.rows as Doc[]).map((d) => {
    const t = torchDecode.find((x) => x.preset === d.preset && x.cache === d.cache && x.promptLen === d.context);
    const torchMs: number | undefined = t?.msPerToken.median;
    const ours: number | undefined = typeof d.msPerToken === 'number' ? d.msPerToken : d.msPerToken?.median;
    return {
      preset: d.preset,
      cache: d.cache,
      context: d.context,
      oursMsPerToken: ours && r3(ours),
      oursFirstPassMsPerToken: d.cold && r3(d.cold.msPerToken.median),
      newShadersPerStep: d.newPipelinesPerStep,
      torchMsPerToken: torchMs && r3(torchMs),
      ratioVsTorch: torchMs && ours && r3(torchMs / ours),
      error: d.error,
    };
  });
  let diagnose: Record<string, unknown> = {};
  const diag = path.join(dir, 'diagnose');
  if (fs.existsSync(diag)) {
    const b8 = flat(readJson(path.join(diag, 'train-webgpu-35m-mla-rope-b8-profiled.json')));
    const b2 = flat(readJson(path.join(diag, 'train-webgpu-35m-mla-rope-b2.json')));
    const top = (f: string) => readJson(path.join(diag, f)).byFunction.slice(0, 8).map((x: Doc) => `${x.name} ${(100 * x.share).toFixed(1)}%`);
    diagnose = {
      trainTokensPerSec: { batch8: Math.round(b8.tokensPerSec.median), batch2: Math.round(b2.tokensPerSec.median) },
      trainStepSeconds: { batch8: r3(b8.stepSeconds.median), batch2: r3(b2.stepSeconds.median) },
      trainCpuProfileTop: top('cpuprofile-train-b8.json'),
      decodeCpuProfileTop: top('cpuprofile-decode-kv512.json'),
      smallOpRoundTripMs: r3(flat(readJson(path.join(diag, 'decode-webgpu-profiled.json'))).roundTripMs.median),
    };
  }
  const kernelsFile = path.join(dir, 'decode-kernels-per-step.json');
  const kernels = fs.existsSync(kernelsFile) ? readJson(kernelsFile).rows.map((r: Doc) => ({ preset: r.preset, cache: r.cache, dispatches: r.dispatches })) : null;
  return {
    torchDevice: torchTrain[0]?.deviceName,
    torch: torchTrain[0]?.torch,
    tf32: torchTrain[0]?.tf32,
    coverage,
    train,
    decode: decodeRows,
    decodeDispatchesPerStep: kernels,
    diagnose,
  };
}
