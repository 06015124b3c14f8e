// Training runs of the experiment notebooks, found again by what defines them. A run's folder name ends in a
// hash of its model config, training options, seed and data (corpus hash included), so rerunning a cell with
// the same settings reuses the finished run and only redraws; changing anything trains a new one. A run that
// was interrupted resumes from its last checkpoint. A run whose loss diverged leaves diverged.json: its settings
// are not trained again (they would diverge again) until they change or `force` retrains from scratch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { ModelConfig } from '../config/model-config';
import { resolveConfig } from '../config/presets';
import { defaultCacheMode } from '../costs/cache-modes';
import { kvCacheElements } from '../costs/kv-cache';
import { paramCount } from '../costs/params';
import { describeDataset, prepareDataset, defaultDataRoot, repositoryDataDir } from '../data/prepare';
import type { PreparedDataset } from '../data/prepare';
import type { TrainingDataset } from '../data/packed';
import { deriveSeed } from '../data/prng';
import { perplexity } from '../eval/perplexity';
import { createModel } from '../model/gpt';
import { findLatestCheckpoint } from '../train/checkpoints';
import { trainDataFromDataset } from '../train/data';
import { CHECKPOINT_DIR, CONFIG_FILE, METRICS_FILE, readJsonFile, readMetrics, writeJsonFile } from '../train/run-dir';
import { checkRunUnlocked } from '../train/lock';
import { DEFAULT_TRAIN_OPTIONS } from '../train/options';
import { train } from '../train/trainer';
import { DivergenceError, TrainingError } from '../train/errors';
import type { MetricsLine, StepMetrics, TrainHooks, TrainOptions } from '../train/types';
import { BackendError, type DeviceCheck, describeBackend, onNullDevice, withDeviceErrorScope } from '../backend';
import { spread } from './stats';

/** What defines one training run of an experiment. */
export interface RunSpec {
  preset: string;
  overrides?: Partial<ModelConfig>;
  seed: number;
  /** Data spec: 'embedded' or 'wikitext103:/folder'. */
  data: string;
  /** Training options (tokens, batch, seq, accumulation, evaluation cadence, schedule, ...). */
  train: Partial<TrainOptions> & Pick<TrainOptions, 'tokens'>;
  /** Tokens of the training split scored after training, for the study's "training perplexity" (0: skip). */
  trainEvalTokens?: number;
}

/** What a finished run reports: written to result.json, read back on reuse. */
export interface RunResult {
  spec: RunSpec;
  runDir: string;
  config: ModelConfig;
  params: number;
  kvElementsPerToken: number;
  kvCacheMode: string;
  steps: number;
  tokens: number;
  finalTrainLoss: number;
  valPerplexity: number;
  valTokens: number;
  trainPerplexity: number | null;
  trainPerplexityTokens: number;
  /** Median training throughput over the run's steps, with its spread. */
  tokensPerSec: { median: number; min: number; max: number };
  backend: string;
  device: string;
  finishedAt: string;
}

export const RESULT_FILE = 'result.json';

/** What a diverged run leaves instead of result.json: an outcome of its settings, kept with its metrics. */
export interface DivergedRun {
  spec: RunSpec;
  /** The trainer's message: the step, the loss, the checkpoint it fell back to, the fix. */
  message: string;
  /** The first step of the insane streak, or the step with a non-finite loss or gradient norm. */
  step: number;
  /** That step's loss; null when it was not finite (JSON has no NaN), then lossText says what it was. */
  loss: number | null;
  lossText: string;
  /** Peak learning rate of the spec (null: the trainer's default). */
  lr: number | null;
  /**
   * Insane steps in a row the guard waited for (null: a non-finite loss or gradient norm stopped it). Records
   * written before this field existed say it in their message ("for 5 steps in a row").
   */
  divergenceSteps?: number | null;
  backend: string;
  device: string;
  finishedAt: string;
}

export const DIVERGED_FILE = 'diverged.json';

/**
 * Why a diverged record no longer stands for its spec, or undefined when it does. A streak verdict is an outcome of
 * the settings and of the guard's patience, which is not part of the run id: a record made by a less patient guard
 * than the spec's now (the default rose from 5 to 20) says nothing of what the run does today. A non-finite loss
 * stands whatever the patience.
 */
export function supersededDivergence(record: DivergedRun, spec: RunSpec): string | undefined {
  const was = record.divergenceSteps !== undefined ? record.divergenceSteps : Number(/ for (\d+) steps in a row/.exec(record.message)?.[1] ?? NaN);
  if (was === null || !Number.isFinite(was)) return undefined;
  const now = spec.train.divergenceSteps ?? DEFAULT_TRAIN_OPTIONS.divergenceSteps;
  if (now > 0 && now <= was) return undefined;
  return `it diverged under a guard of ${was} steps in a row; the guard is now ${now > 0 ? `${now} steps` : 'off (non-finite values only)'}, so it is trained again`;
}

/** JSON with sorted keys and no undefined fields: the same settings always give the same text (and hash). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Bumped when the library changes what a run with the same settings computes, so old runs are not reused as
 * if they were new ones. 2: dropout masks from a counter hash (lib/ops/dropout.ts), not tf.dropout.
 */
export const RUN_FORMAT = 2;

/** The folder a run lives in: data/runs/<preset>-seed<S>-<hash of everything that defines it>. */
export function runDirFor(spec: RunSpec, config: ModelConfig, corpusHash: string, runsDir = path.join(defaultDataRoot(), 'runs')): string {
  const key = canonical({ config, train: spec.train, seed: spec.seed, data: spec.data, corpusHash, trainEvalTokens: spec.trainEvalTokens ?? 0, format: RUN_FORMAT });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return path.join(runsDir, `${spec.preset}-seed${spec.seed}-${hash}`);
}

/**
 * Throws when the active backend is the null WebGPU device and `dir` is under the data root or the repository's
 * data/: there every value reads as zero (a run "finishes" at perplexity 1.00), and a folder there would be reused
 * as a result by the plan, the notebooks and every later call. A dry run of the host side writes to a scratch
 * folder (--runs-dir) instead.
 */
export function refuseNullDeviceResults(dir: string, what: string): void {
  if (!onNullDevice()) return;
  const inside = (root: string) => {
    const rel = path.relative(path.resolve(root), path.resolve(dir));
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  };
  const root = [defaultDataRoot(), repositoryDataDir()].find(inside);
  if (root) {
    throw new BackendError(
      `${what} ${dir}: the null WebGPU device (MLA_WEBGPU_NULL_DEVICE=on) computes nothing, so its results would read perplexity 1.00 and be reused as real ones; nothing is written under ${root}: give a scratch --runs-dir for a dry run, or unset MLA_WEBGPU_NULL_DEVICE`,
    );
  }
}

export interface EnsureRunOptions {
  /** Retrain even when a finished run exists (the old folder is moved aside, not deleted). */
  force?: boolean;
  hooks?: TrainHooks;
  /** Data root (default: $MLA_DATA_ROOT, else the repository's data/). */
  root?: string;
  /** Where run folders go (default: <root>/runs). */
  runsDir?: string;
  log?: (line: string) => void;
  /** An already prepared dataset (e.g. token files carried to a machine without the corpus packages). */
  dataset?: TrainingDataset;
}

const datasets = new Map<string, Promise<PreparedDataset>>();

/** The prepared dataset for a spec and vocabulary, built once per process. */
export function datasetFor(spec: string, vocabSize: number, root: string, log?: (s: string) => void): Promise<PreparedDataset> {
  const key = `${root}|${spec}|${vocabSize}`;
  if (!datasets.has(key)) datasets.set(key, prepareDataset(spec, { vocabSize, root, log }));
  return datasets.get(key)!;
}

/**
 * The corpus hash of a data spec: read from the built corpus when it exists, else the corpus is built now
 * (the runs need it anyway, and the hash is part of every run id).
 */
export async function corpusHashFor(data: string, vocabSize: number, root: string, log: (s: string) => void = () => {}): Promise<string> {
  const d = await describeDataset(data, { vocabSize, root });
  if (d.corpusHash) return d.corpusHash;
  log(`building ${data} (its corpus hash is part of every run id)`);
  return (await datasetFor(data, vocabSize, root, log)).corpusHash;
}

/**
 * Trains the run unless it is already finished; returns its result either way. A run that diverges, now or in an
 * earlier call (its diverged.json), throws DivergenceError; `force` trains it again.
 */
export async function ensureRun(spec: RunSpec, o: EnsureRunOptions = {}): Promise<RunResult> {
  const root = o.root ?? defaultDataRoot();
  const log = o.log ?? (() => {});
  const config = resolveConfig(spec.preset, spec.overrides ?? {});
  const ds: TrainingDataset = o.dataset ?? (await datasetFor(spec.data, config.vocabSize, root, log));
  const runDir = runDirFor(spec, config, ds.corpusHash, o.runsDir ?? path.join(root, 'runs'));
  const done = readJsonFile<RunResult>(path.join(runDir, RESULT_FILE));
  if (!done || o.force) refuseNullDeviceResults(runDir, 'run');
  if (done && !o.force) {
    log(`reusing ${runDir} (finished ${done.finishedAt} on ${done.backend}, ${done.device})`);
    // The folder may have been trained elsewhere (e.g. on a GPU machine) and copied here.
    return { ...done, runDir };
  }
  const divergedFile = path.join(runDir, DIVERGED_FILE);
  const diverged = done ? undefined : readJsonFile<DivergedRun>(divergedFile);
  const superseded = diverged && supersededDivergence(diverged, spec);
  if (diverged && !o.force && !superseded) {
    // The same settings diverge again (the data order and the initialisation are seeded): report, do not retrain.
    throw new DivergenceError(
      `diverged before (${divergedFile}): ${diverged.message}; it is not retrained: change its rate (another folder) or pass --force to retrain this one`,
      diverged.step,
      diverged.loss ?? Number(diverged.lossText),
    );
  }
  if ((o.force || superseded) && fs.existsSync(runDir)) {
    const aside = `${runDir}.replaced-${Date.now()}`;
    fs.renameSync(runDir, aside);
    if (superseded) log(`${runDir}: ${superseded} (the record is kept in ${aside})`);
  }
  // A live writer elsewhere (another process, a worker) owns the folder: refuse before touching it.
  checkRunUnlocked(runDir);
  setAsideUnresumable(runDir, log);
  const resume = fs.existsSync(path.join(runDir, 'config.json'));
  log(`${resume ? 'resuming' : 'training'} ${spec.preset} seed ${spec.seed} → ${runDir}`);

  const model = createModel(config, deriveSeed(spec.seed, 0x1a17));
  try {
    const batchSize = spec.train.batchSize ?? 8;
    const seqLen = spec.train.seqLen ?? config.maxSeqLen;
    const data = trainDataFromDataset(ds, { batchSize, seqLen, seed: spec.seed });
    const options = {
      checkpointEvery: 200,
      progress: 'none' as const,
      ...spec.train,
      batchSize,
      seqLen,
      seed: spec.seed,
      outDir: runDir,
      resume: resume && findLatestCheckpoint(runDir) !== undefined,
      runInfo: { preset: spec.preset, experimentSpec: spec },
      checkpointMetadata: { tokenizer: ds.tokenizerPath, preset: spec.preset },
    };
    // Training and the evaluations below in Dawn error scopes (nothing on other backends): a device error fails
    // the run before result.json would mark numbers read from a dropped command buffer as finished. The scope is
    // checked at every step, after the loss readback has waited for the GPU, so the run stops at the step the
    // error happened in, with the metrics and checkpoints of the steps before it kept (a rerun resumes).
    const label = `run ${spec.preset} seed ${spec.seed}`;
    const res = await withDeviceErrorScope((check) => train(model, data, options, checkedSteps(o.hooks, check)), `${label}: training`).catch((e: unknown) => {
      if (e instanceof DivergenceError) writeDiverged(divergedFile, spec, e);
      throw e;
    });
    if (res.steps < res.totalSteps) {
      // Stopped early (interrupt): the checkpoint is kept and the next call resumes; nothing is reported.
      throw new TrainingError(`${spec.preset} seed ${spec.seed} stopped at step ${res.steps} of ${res.totalSteps}; rerun to resume from its checkpoint in ${runDir}`);
    }
    const metrics = readMetrics(runDir);
    const steps = metrics.filter((m): m is StepMetrics => m.kind === 'train');
    const evalOpts = { seqLen, batchSize };
    const trainTokens = spec.trainEvalTokens ?? 0;
    const { val, trainPpl } = await withDeviceErrorScope(async () => ({
      val: await perplexity(model, ds.splits.val, { ...evalOpts, maxTokens: spec.train.evalTokens || undefined }),
      trainPpl: trainTokens > 0 ? await perplexity(model, ds.splits.train, { ...evalOpts, maxTokens: trainTokens }) : null,
    }), `${label}: evaluation`);
    const tps = steps.length ? spread(steps.map((s) => s.tokensPerSec)) : { median: 0, min: 0, max: 0 };
    const backend = describeBackend();
    const kv = kvCacheElements(config, defaultCacheMode(config));
    const result: RunResult = {
      spec,
      runDir,
      config,
      params: paramCount(config).total,
      kvElementsPerToken: kv.perToken,
      kvCacheMode: kv.mode,
      steps: res.steps,
      tokens: steps.length ? steps[steps.length - 1].tokens : 0,
      finalTrainLoss: steps.length ? steps[steps.length - 1].loss : NaN,
      valPerplexity: val.perplexity,
      valTokens: val.tokens,
      trainPerplexity: trainPpl?.perplexity ?? null,
      trainPerplexityTokens: trainPpl?.tokens ?? 0,
      tokensPerSec: { median: tps.median, min: tps.min, max: tps.max },
      backend: backend.backend,
      device: backend.device,
      finishedAt: new Date().toISOString(),
    };
    // Written last: its presence is what marks the run finished.
    writeJsonFile(path.join(runDir, RESULT_FILE), result);
    return result;
  } finally {
    model.dispose();
  }
}

/** Records a divergence beside the run's metrics, which show the blow-up; written atomically, as result.json is. */
function writeDiverged(file: string, spec: RunSpec, e: DivergenceError): void {
  const { backend, device } = describeBackend();
  const record: DivergedRun = {
    spec,
    message: e.message,
    step: e.step,
    loss: Number.isFinite(e.loss) ? e.loss : null,
    lossText: String(e.loss),
    lr: spec.train.lr ?? null,
    divergenceSteps: e.patience ?? null,
    backend,
    device,
    finishedAt: new Date().toISOString(),
  };
  writeJsonFile(file, record);
}

/** The caller's hooks, with `check` (the device's error scope) run after each step's own checkStep. */
function checkedSteps(hooks: TrainHooks | undefined, check: DeviceCheck): TrainHooks {
  return {
    ...hooks,
    async checkStep(step) {
      await hooks?.checkStep?.(step);
      await check(`step ${step}`);
    },
  };
}

/**
 * A run killed before its first checkpoint leaves config.json and metrics lines but nothing to resume from, and
 * the trainer refuses to start over a folder that holds a run: such a folder is moved aside (not deleted).
 */
export function setAsideUnresumable(runDir: string, log: (s: string) => void = () => {}): void {
  if (!fs.existsSync(path.join(runDir, CONFIG_FILE)) || findLatestCheckpoint(runDir)) return;
  // A diverged run did not stop early: its folder is the record of the divergence (ensureRun reports it).
  if (fs.existsSync(path.join(runDir, DIVERGED_FILE))) return;
  if (!fs.existsSync(path.join(runDir, METRICS_FILE)) && !fs.existsSync(path.join(runDir, CHECKPOINT_DIR))) return;
  const aside = `${runDir}.restarted-${Date.now()}`;
  fs.renameSync(runDir, aside);
  log(`${path.basename(runDir)} stopped before its first checkpoint; moved it to ${aside} and starting over`);
}

/** Every metrics line of a run, for curves. */
export function runMetrics(result: RunResult): MetricsLine[] {
  return readMetrics(result.runDir);
}
