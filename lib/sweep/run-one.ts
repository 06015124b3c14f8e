// One run of a sweep, trained through the experiment runner (ensureRun) exactly as a notebook would train it:
// a finished folder is reused, an interrupted one resumes from its last checkpoint. What the sweep adds: a
// claim file saying who trains it, the failure marker cleared on a new attempt, progress reported to the
// caller, and the event loop given a turn every step so that a queue worker's lock renewals keep running
// while a CPU-bound step loop would otherwise starve its timers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../config/presets';
import { RESULT_FILE, datasetFor, ensureRun, runDirFor, setAsideUnresumable } from '../experiments/runs';
import type { RunResult } from '../experiments/runs';
import { LOCK_FILE } from '../train/lock';
import { readJsonFile } from '../train/run-dir';
import type { StepMetrics } from '../train/types';
import { SweepError } from './errors';
import type { PlannedRun } from './plan';
import { CLAIM_FILE, FAILURE_FILE, writeClaim } from './status';
import type { RunClaim } from './status';

export interface RunProgress {
  step: number;
  totalSteps: number;
  tokens: number;
  /** This step's training loss (nats per token). */
  loss: number;
}

export interface TrainRunOptions {
  /** Data root (corpora, tokenizers). */
  root: string;
  /** Folder the run's folder goes in (default: the plan's). */
  runsDir?: string;
  /** 1 for the first try; queue retries count up. */
  attempt?: number;
  log?: (line: string) => void;
  onProgress?: (p: RunProgress) => void | Promise<void>;
  /** Checked before every step; true stops the run with a checkpoint (it resumes on the next try). */
  shouldStop?: () => boolean;
  /** The queue declared the run's previous worker lost (its job lock expired): its run lock is stale too. */
  previousWorkerLost?: boolean;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The trainer's run lock (lib/train/lock.ts) is taken over by itself only when its holder is a dead process of
 * this host. A queue worker that died on another host leaves a lock nobody here can check; BullMQ's expired job
 * lock is the evidence that it is gone, so the lock is removed when it belongs to the worker that claimed the
 * run last (sweep-worker.json names the same host:pid).
 */
function removeLostWorkersLock(runDir: string, log: (s: string) => void): void {
  const file = path.join(runDir, LOCK_FILE);
  const lock = readJsonFile<{ pid?: number; host?: string }>(file);
  const claim = readJsonFile<RunClaim>(path.join(runDir, CLAIM_FILE));
  if (!lock || !claim || lock.host === os.hostname() || claim.worker !== `${lock.host}:${lock.pid}`) return;
  fs.rmSync(file, { force: true });
  log(`removed the run lock of ${claim.worker}, which the queue declared lost`);
}

/** Trains (or reuses, or resumes) one run; returns its result. Throws what the runner throws. */
export async function trainRun(run: PlannedRun, o: TrainRunOptions): Promise<RunResult> {
  const log = o.log ?? (() => {});
  const runsDir = o.runsDir ?? path.dirname(run.runDir);
  const config = resolveConfig(run.spec.preset, run.spec.overrides ?? {});
  const dataset = await datasetFor(run.spec.data, config.vocabSize, o.root, log);
  const runDir = runDirFor(run.spec, config, dataset.corpusHash, runsDir);
  // The runner names the folder itself; a different name means this machine's corpus or library differs from
  // the planner's, and the run would land beside the sweep instead of in it.
  if (path.basename(runDir) !== run.id) {
    throw new SweepError(`run ${run.index} would train into ${path.basename(runDir)}, not ${run.id}: this machine's corpus (hash ${dataset.corpusHash.slice(0, 8)}) or library version differs from the planner's; plan and train with the same data and commit`);
  }
  if (!fs.existsSync(path.join(runDir, RESULT_FILE))) {
    if (o.previousWorkerLost) removeLostWorkersLock(runDir, log);
    // Before the claim is written, so that the claim lands in the folder that is trained.
    setAsideUnresumable(runDir, log);
    writeClaim(runDir, o.attempt ?? 1);
    fs.rmSync(path.join(runDir, FAILURE_FILE), { force: true });
  }
  return ensureRun(run.spec, {
    root: o.root,
    runsDir,
    dataset,
    log,
    hooks: {
      onStep: async (m: StepMetrics) => {
        await turn();
        await o.onProgress?.({ step: m.step, totalSteps: run.totalSteps, tokens: m.tokens, loss: m.loss });
      },
      shouldStop: o.shouldStop,
    },
  });
}
