// The training loop: train(model, data, options, hooks). It knows the LanguageModel contract (named params,
// loss) and nothing of what is inside. One optimizer step = accumSteps micro-batches whose gradients are
// averaged, clipped by global norm and applied with AdamW at the scheduled LR. Every step appends a line to
// metrics.jsonl; validation and checkpoints come every N steps and at the end; --resume continues bit-exactly.
// One process at a time trains a run folder (lock.ts); a resume on other data, or a loss that diverges, stops
// with a one-line error, and the newest checkpoint with a sane loss is always kept.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
// The trainer differentiates whatever model it is given. tfjs-core's CommonJS build registers no gradients;
// the union package's Node build registers them all against this same tfjs-core (as lib/model/gpt.ts does).
import '@tensorflow/tfjs';
import { describeBackend } from '../backend-description';
import { lrAt } from '../costs/lr-schedule';
import { Rng, deriveSeed } from '../data/prng';
import { perplexity } from '../eval/perplexity';
import type { LanguageModel } from '../model/types';
import { AdamW, AdamWConfig } from './adamw';
import { CheckpointRef, findLatestCheckpoint, loadTrainingCheckpoint, pointLatestAt, saveTrainingCheckpoint } from './checkpoints';
import { checkDataIdentity, withTokenizerHash } from './data-identity';
import { DivergenceGuard } from './divergence';
import { DivergenceError, TrainingError } from './errors';
import { accumulate, clipFactor, globalNorm } from './grads';
import { acquireRunLock } from './lock';
import { TRAJECTORY_OPTIONS, resolveTrainOptions, scheduleFor, tokensPerStep, totalSteps } from './options';
import { createProgress } from './progress';
import { gitCommit } from './run-info';
import {
  CHECKPOINT_DIR, CONFIG_FILE, METRICS_FILE, MetricsLog, checkFreeSpace, diskNeeded, ensureWritableDir,
  readJsonFile, readMetrics, truncateMetrics, writeJsonFile,
} from './run-dir';
import type { MetricsLine, StepMetrics, TrainData, TrainHooks, TrainOptions, TrainResult, ValMetrics } from './types';

/** The dropout stream's seed is derived from the run seed, apart from the streams the caller seeds (init, data). */
const DROPOUT_STREAM = 0xd0;

/** What config.json holds. */
export interface RunConfig {
  format: 'mla-lab/run/1';
  createdAt: string;
  model: LanguageModel['config'];
  parameters: number;
  options: Omit<TrainOptions, 'runInfo' | 'checkpointMetadata' | 'progress' | 'logEvery' | 'resume' | 'outDir'>;
  steps: number;
  tokensPerStep: number;
  schedule: ReturnType<typeof scheduleFor>;
  data: Record<string, unknown> | null;
  git: string | null;
  /** Where it ran: lib/backend's description (backend, device, native kernels, threads, BLAS). */
  backend: string;
  device: string;
  resumes?: { time: string; fromStep: number }[];
  [extra: string]: unknown;
}

function trajectoryOf(o: Partial<TrainOptions>): Record<string, unknown> {
  // null for an unset option, so "unset then, set now" counts as a difference.
  return Object.fromEntries(TRAJECTORY_OPTIONS.map((k) => [k, o[k] ?? null]));
}

function differences(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
  return keys
    .filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k}: run has ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])}`);
}

export async function train(
  model: LanguageModel,
  data: TrainData,
  options: Partial<TrainOptions> & Pick<TrainOptions, 'tokens' | 'outDir'>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const o = resolveTrainOptions(options, model.config.maxSeqLen);
  const runDir = path.resolve(o.outDir);
  const paramCount = Object.values(model.params).reduce((a, v) => a + v.size, 0);

  // Everything that can fail for lack of a place to write fails here, before any training time is spent.
  ensureWritableDir(runDir);
  const sets = o.keepCheckpoints + 1;
  checkFreeSpace(runDir, diskNeeded(paramCount, sets), `training this ${paramCount.toLocaleString('en-US')}-parameter model (${sets} checkpoint sets)`);
  // Before anything in the folder is read or written: a second writer is refused here, at once.
  const lock = acquireRunLock(runDir);
  if (lock.tookOver) {
    const t = lock.tookOver;
    // Said even with progress 'none': a run that was killed mid-way is worth one line.
    console.error(`taking over the lock of ${runDir}: pid ${t.pid} on ${t.host} (since ${t.startedAt}) is gone`);
  }

  const hp: AdamWConfig = { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay };
  const adam = new AdamW(model.params, hp);
  try {
    return await runLoop(model, data, o, hooks, adam, hp, paramCount);
  } finally {
    adam.dispose();
    lock.release();
  }
}

/** Resume or start the run folder, then the step loop; `adam` is the caller's to dispose. */
async function runLoop(
  model: LanguageModel,
  data: TrainData,
  o: TrainOptions,
  hooks: TrainHooks,
  adam: AdamW,
  hp: AdamWConfig,
  paramCount: number,
): Promise<TrainResult> {
  const steps = totalSteps(o);
  const perStep = tokensPerStep(o);
  const schedule = scheduleFor(o);
  const runDir = path.resolve(o.outDir);
  const names = Object.keys(model.params);
  const varList = names.map((n) => model.params[n]);
  const nameOfVar = new Map(varList.map((v, i) => [v.name, names[i]]));
  let rng = new Rng(deriveSeed(o.seed, DROPOUT_STREAM));
  let resumedLines: MetricsLine[] = [];
  let step = 0;
  let elapsedSec = 0;
  let lastCkpt: CheckpointRef | undefined;
  // The newest checkpoint written while the loss was sane: what a divergence goes back to.
  let lastSane: CheckpointRef | undefined;
  const guard = new DivergenceGuard(model.config.vocabSize, o.divergenceSteps);
  const configFile = path.join(runDir, CONFIG_FILE);
  const metricsFile = path.join(runDir, METRICS_FILE);
  const progress = createProgress(o.progress, steps, perStep, o.logEvery);
  const describe = await withTokenizerHash(data.describe);

  if (o.resume) {
    const saved = readJsonFile<RunConfig>(configFile);
    if (!saved) throw new TrainingError(`--resume: ${configFile} is missing or unreadable; start the run without --resume`);
    const diff = [
      ...differences(saved.model as unknown as Record<string, unknown>, model.config as unknown as Record<string, unknown>).map((d) => `model ${d}`),
      ...differences(trajectoryOf(saved.options ?? {}), trajectoryOf(o)),
    ];
    if (diff.length) throw new TrainingError(`--resume: the run in ${runDir} was started with other settings (${diff.join('; ')}); resume with the same settings`);
    checkDataIdentity(saved.data, describe, `--resume of ${runDir}`);
    const ref = findLatestCheckpoint(runDir);
    if (ref) {
      const shapes = Object.fromEntries(names.map((n) => [n, model.params[n].shape]));
      const ck = loadTrainingCheckpoint(ref, model.config, shapes);
      for (const n of names) model.params[n].assign(ck.model.tensors[n]);
      adam.load(ck.adamStep, ck.m, ck.v);
      tf.dispose([...Object.values(ck.model.tensors), ...Object.values(ck.m), ...Object.values(ck.v)]);
      data.train.setState(ck.state.sampler);
      rng = new Rng(ck.state.rng);
      step = ck.state.step;
      elapsedSec = ck.state.elapsedSec;
      lastCkpt = ref;
      lastSane = ref;
    }
    // Lines after the checkpoint belong to steps that are about to be redone.
    truncateMetrics(metricsFile, step);
    const earlier = readMetrics(metricsFile);
    resumedLines = earlier.filter((l) => l.step === step);
    guard.seed(earlier.filter((l): l is StepMetrics => l.kind === 'train').map((l) => l.loss));
    saved.resumes = [...(saved.resumes ?? []), { time: new Date().toISOString(), fromStep: step }];
    writeJsonFile(configFile, saved);
    progress.note(ref ? `resuming ${runDir} at step ${step}/${steps}` : `resuming ${runDir}: no checkpoint yet, starting at step 0`);
  } else {
    if (fs.existsSync(metricsFile) || fs.existsSync(path.join(runDir, CHECKPOINT_DIR))) {
      throw new TrainingError(`${runDir} already holds a run (metrics.jsonl or checkpoint/); pass --resume to continue it, or choose another --out`);
    }
    const { runInfo, checkpointMetadata: _m, progress: _p, logEvery: _l, resume: _r, outDir: _o, ...recorded } = o;
    const rc: RunConfig = {
      format: 'mla-lab/run/1',
      createdAt: new Date().toISOString(),
      model: model.config,
      parameters: paramCount,
      options: recorded,
      steps,
      tokensPerStep: perStep,
      schedule,
      data: describe ?? null,
      git: gitCommit(),
      ...describeBackend(),
      ...runInfo,
    };
    writeJsonFile(configFile, rc);
  }

  const log = new MetricsLog(metricsFile);
  const backend = tf.getBackend();
  const evalBatch = o.evalBatchSize ?? o.batchSize;
  // A run resumed at its last step has nothing left to do; its final numbers are those already logged.
  let lastLoss = resumedLines.find((l): l is StepMetrics => l.kind === 'train')?.loss ?? NaN;
  let lastVal = resumedLines.find((l): l is ValMetrics => l.kind === 'val');
  let stopped = false;
  let trainSec = 0;
  let trainedTokens = 0;
  let checkpointSec = 0;

  const validate = async () => {
    if (!data.val) return;
    const r = await perplexity(model, data.val, { seqLen: o.seqLen, batchSize: evalBatch, maxTokens: o.evalTokens });
    const v: ValMetrics = {
      kind: 'val', step, tokens: step * perStep, valLoss: r.loss, valPerplexity: r.perplexity, valTokens: r.tokens,
      time: new Date().toISOString(),
    };
    log.append(v);
    progress.eval(v);
    lastVal = v;
    await hooks.onEval?.(v);
  };

  const checkpoint = async () => {
    if (lastCkpt?.step === step) return;
    const t0 = performance.now();
    const previous = lastCkpt ? `${lastCkpt.dir} (step ${lastCkpt.step})` : 'none';
    try {
      checkFreeSpace(runDir, diskNeeded(paramCount, 1), `the checkpoint of step ${step}`);
      lastCkpt = await saveTrainingCheckpoint(runDir, {
        params: model.params,
        config: model.config,
        optimizer: adam.state(),
        hp,
        metadata: o.checkpointMetadata,
        state: { step, tokens: step * perStep, sampler: data.train.getState(), rng: rng.state, elapsedSec },
        keep: o.keepCheckpoints,
        // While the loss is insane, the last sane set outlives the usual pruning.
        protect: guard.streakStart !== undefined ? lastSane?.dir : undefined,
      });
    } catch (err) {
      if (!(err instanceof Error) || !['CheckpointError', 'TrainingError'].includes(err.name)) throw err;
      throw new TrainingError(`the checkpoint of step ${step} was not written: ${err.message}; the last complete checkpoint is ${previous}, continue from it with --resume`);
    }
    if (guard.streakStart === undefined) lastSane = lastCkpt;
    checkpointSec += (performance.now() - t0) / 1000;
    await hooks.onCheckpoint?.({ step, dir: lastCkpt.dir });
  };

  try {
    while (step < steps) {
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
      const t0 = performance.now();
      const lr = lrAt(step, schedule);
      const { loss, gradNorm } = await trainStep(model, data, o, varList, nameOfVar, rng, adam, step, lr);
      // Before the loss is judged or logged: numbers read from a dropped command buffer are not this step's.
      await hooks.checkStep?.(step + 1);
      const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
      const verdict = finite ? guard.observe(step + 1, loss) : { bad: true, diverged: !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm}` };
      if (verdict.diverged) {
        const what = finite ? `loss ${loss.toPrecision(5)} at step ${step + 1} is ${verdict.diverged}` : `${verdict.diverged} at step ${step + 1}`;
        const badFrom = finite ? guard.streakStart ?? step + 1 : step + 1;
        throw new DivergenceError(`training diverged: ${what}; ${goBackTo(runDir, lastSane, lastCkpt, guard.streakStart ?? step + 1)}; lower --lr and start a new run`, badFrom, loss, finite ? o.divergenceSteps : undefined);
      }
      step += 1;
      const dt = (performance.now() - t0) / 1000;
      elapsedSec += dt;
      trainSec += dt;
      trainedTokens += perStep;
      lastLoss = loss;
      const m: StepMetrics = {
        kind: 'train', step, tokens: step * perStep, loss, lr, gradNorm, tokensPerSec: perStep / dt,
        liveTensors: tf.memory().numTensors, backend, time: new Date().toISOString(), elapsedSec,
      };
      log.append(m);
      progress.step(m);
      await hooks.onStep?.(m);
      // Let the event loop run (signal handlers, a notebook's display, timers): awaiting a resolved promise
      // only runs microtasks, so without this a Ctrl-C handler would never fire during training.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (step < steps && o.evalEvery > 0 && step % o.evalEvery === 0) await validate();
      if (step < steps && o.checkpointEvery > 0 && step % o.checkpointEvery === 0) await checkpoint();
    }
    if (!stopped && (lastVal?.step !== step)) await validate();
    if (step > 0) await checkpoint();
  } finally {
    log.close();
    progress.done();
  }
  return {
    runDir,
    steps: step,
    totalSteps: steps,
    tokens: step * perStep,
    finalLoss: lastLoss,
    finalValLoss: lastVal?.valLoss,
    finalValPerplexity: lastVal?.valPerplexity,
    stopped,
    checkpoint: lastCkpt?.dir ?? '',
    elapsedSec,
    tokensPerSec: trainSec > 0 ? trainedTokens / trainSec : 0,
    checkpointSec,
  };
}

/**
 * Points latest.json back at the newest sane checkpoint (a set written during the insane streak would resume
 * the divergence) and says where the run now stands.
 */
function goBackTo(runDir: string, sane: CheckpointRef | undefined, last: CheckpointRef | undefined, badFrom: number): string {
  if (!sane) return last ? `no checkpoint was written before the loss went bad at step ${badFrom} (the one of step ${last.step} is from after)` : 'no checkpoint was written';
  if (last && last.dir !== sane.dir) pointLatestAt(runDir, sane);
  return `the last checkpoint with a sane loss is ${sane.dir} (step ${sane.step})`;
}

/**
 * One optimizer step: accumSteps forward/backward passes, gradients summed, then (if loss and norm are finite)
 * clipped and applied. Returns the mean loss and the pre-clip norm of the averaged gradient; with a non-finite
 * value the parameters are left untouched.
 */
async function trainStep(
  model: LanguageModel,
  data: TrainData,
  o: TrainOptions,
  varList: tf.Variable[],
  nameOfVar: Map<string, string>,
  rng: Rng,
  adam: AdamW,
  step: number,
  lr: number,
): Promise<{ loss: number; gradNorm: number }> {
  const A = o.accumSteps;
  const B = o.batchSize;
  const T = o.seqLen;
  let acc: Record<string, tf.Tensor> | undefined;
  const losses: tf.Scalar[] = [];
  try {
    for (let micro = 0; micro < A; micro++) {
      const batch = data.train.next(B, T);
      if (batch.ids.length !== B * T || batch.targets.length !== B * T) {
        throw new TrainingError(`the data source returned ${batch.ids.length} ids and ${batch.targets.length} targets for a ${B}×${T} batch`);
      }
      // One draw per micro-batch from the checkpointed stream, mixed with the position: resumed runs get the
      // same masks. 31 bits, so models may scale it and stay exact in a double.
      const dropoutSeed = deriveSeed(rng.nextUint32(), step, micro) >>> 1;
      const { value, grads } = tf.tidy(() => {
        const ids = tf.tensor2d(batch.ids, [B, T], 'int32');
        const targets = tf.tensor2d(batch.targets, [B, T], 'int32');
        return tf.variableGrads(() => model.loss(ids, targets, { training: true, dropoutSeed }), varList);
      });
      const named: Record<string, tf.Tensor> = {};
      for (const [vn, g] of Object.entries(grads)) named[nameOfVar.get(vn) ?? vn] = g;
      acc = accumulate(acc, named);
      losses.push(value as tf.Scalar);
    }
    const grads = acc!;
    const stats = tf.tidy(() => tf.div(tf.stack([tf.addN(losses), globalNorm(grads)]), A)); // [mean loss, norm of the mean gradient]
    try {
      // Where the update can clip from the norm on the device (WebGPU), it is recorded before the norm is read,
      // so the GPU goes on from the backward pass to the update without waiting for the host.
      const onDevice = adam.applyDeviceClipped(grads, lr, 1 / A, stats, o.clipNorm);
      const [loss, gradNorm] = await stats.data(); // async: WebGPU in Node cannot read synchronously
      const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
      if (onDevice && !finite) adam.discardStep(); // the device left the parameters as they were
      if (!onDevice && finite) adam.apply(grads, lr, clipFactor(gradNorm, o.clipNorm) / A);
      return { loss, gradNorm };
    } finally {
      stats.dispose();
    }
  } finally {
    tf.dispose(losses);
    if (acc) tf.dispose(Object.values(acc));
  }
}
