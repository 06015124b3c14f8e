// Queue mode: every pending run of a sweep is a BullMQ job on Redis whose id is the run id, so submitting the
// same sweep twice adds nothing. Workers on any machine pull jobs and train them through the same runner as
// `mla sweep run`. A worker that dies mid-run (SIGKILL, lost host) stops renewing its job's lock; after
// lockDuration another worker's stalled-job check puts the job back in the queue and it resumes from the run's
// last checkpoint. After maxStalledCount such restarts, or `attempts` thrown errors, BullMQ fails the job and the
// worker that sees it fail writes the reason into the run folder (sweep-failed.json), where `sweep status` reads it.
import * as path from 'node:path';
import { Queue, Worker, WaitingError } from 'bullmq';
import type { ConnectionOptions, Job } from 'bullmq';
import type { RunSpec } from '../experiments/runs';
import { TrainingError } from '../train/errors';
import { SweepError } from './errors';
import type { PlannedRun, SweepPlan } from './plan';
import { trainRun } from './run-one';
import type { RunProgress } from './run-one';
import { runStatus, sweepStatus, workerName, writeFailure } from './status';

export const DEFAULT_QUEUE = 'mla-sweep';

/** What a job carries: enough to train the run on a machine that has never seen the sweep file. */
export interface SweepJobData {
  sweep: string;
  index: number;
  runId: string;
  spec: RunSpec;
  totalSteps: number;
  /** The submitter's runs folder; a worker's --runs-dir replaces it (the shared path may be mounted elsewhere). */
  runsDir: string;
}

/** What a finished job returns (also visible in any BullMQ dashboard). */
export interface SweepJobResult {
  runId: string;
  runDir: string;
  steps: number;
  finalTrainLoss: number;
  valPerplexity: number;
  device: string;
  worker: string;
}

/** What job.updateProgress receives: the run's step and loss, and who trains it. */
export interface SweepJobProgress extends RunProgress {
  worker: string;
}

/** redis://[user:password@]host[:port][/db] or rediss:// (TLS) as BullMQ's connection options. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SweepError(`--redis '${url}' is not a URL; write redis://host:6379 (or rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SweepError(`--redis '${url}' must start with redis:// or rediss://`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new SweepError(`--redis '${url}': the path must be a database number such as /0, got '/${db}'`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers block on Redis; BullMQ requires ioredis not to give up on those commands.
    maxRetriesPerRequest: null,
  };
}

export interface SubmitOptions {
  redis: string;
  queue?: string;
  /** Tries per run for thrown errors (stalls are counted separately, by the workers' maxStalledCount). */
  attempts?: number;
  /** Put runs whose job failed back in the queue. */
  retryFailed?: boolean;
}

export interface SubmitSummary {
  queue: string;
  added: string[];
  /** Already queued, running or finished on the queue: left as they are. */
  alreadyQueued: string[];
  retried: string[];
  /** Failed on the queue and left so (retryFailed requeues them). */
  failed: string[];
  /** Done according to their run folders: not submitted. */
  done: string[];
}

/** Adds every run that is not done to the queue; idempotent (the job id is the run id). */
export async function submitSweep(plan: SweepPlan, o: SubmitOptions): Promise<SubmitSummary> {
  const name = o.queue ?? DEFAULT_QUEUE;
  const queue = new Queue<SweepJobData, SweepJobResult>(name, { connection: redisConnection(o.redis) });
  const summary: SubmitSummary = { queue: name, added: [], alreadyQueued: [], retried: [], failed: [], done: [] };
  try {
    const statuses = sweepStatus(plan);
    for (const run of plan.runs) {
      if (statuses[run.index].state === 'done') {
        summary.done.push(run.id);
        continue;
      }
      const existing = await queue.getJob(run.id);
      const state = existing ? await existing.getState() : undefined;
      if (existing && state === 'failed') {
        if (o.retryFailed) await existing.retry('failed');
        (o.retryFailed ? summary.retried : summary.failed).push(run.id);
        continue;
      }
      if (existing && state === 'completed') {
        // A worker may have finished it since the folders were read above (it writes result.json before the job
        // completes): read this run's folder again before deciding it must be trained again.
        if (runStatus(run).state === 'done') {
          summary.done.push(run.id);
          continue;
        }
        // Completed on the queue but not done in this runs folder (moved, or another folder): train it again.
        await existing.remove();
      } else if (existing && state !== 'unknown') {
        summary.alreadyQueued.push(run.id);
        continue;
      }
      const data: SweepJobData = { sweep: plan.name, index: run.index, runId: run.id, spec: run.spec, totalSteps: run.totalSteps, runsDir: plan.runsDir };
      await queue.add('run', data, { jobId: run.id, attempts: o.attempts ?? 2, backoff: { type: 'fixed', delay: 10_000 }, removeOnComplete: false, removeOnFail: false });
      summary.added.push(run.id);
    }
    return summary;
  } finally {
    await queue.close();
  }
}

export interface SweepWorkerOptions {
  redis: string;
  queue?: string;
  /** Data root on this machine. */
  root: string;
  /** Where this machine sees the shared runs folder (default: the submitter's path, from the job). */
  runsDir?: string;
  /**
   * How long a job's lock lasts without renewal (renewed every half of it while the worker lives): a killed
   * worker's run is taken over this long after its death at the latest, plus stalledIntervalMs.
   */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Restarts after a worker died before the run is failed for good (BullMQ's maxStalledCount). */
  maxStalledCount?: number;
  /** Exit once the queue has had nothing waiting or active for this long (undefined: run until stopped). */
  idleExitMs?: number;
  log?: (line: string) => void;
}

export interface SweepWorker {
  /** Resolves when the worker has closed (idle exit, or stop()). */
  finished: Promise<void>;
  /** Stops after the current step: the run checkpoints and goes back to the queue; then the worker closes. */
  stop(): void;
  /** Jobs this worker finished. */
  completed: string[];
}

export const DEFAULT_LOCK_MS = 120_000;
export const DEFAULT_STALLED_MS = 30_000;

export function startSweepWorker(o: SweepWorkerOptions): SweepWorker {
  const log = o.log ?? (() => {});
  const name = o.queue ?? DEFAULT_QUEUE;
  const connection = redisConnection(o.redis);
  const me = workerName();
  let stopping = false;
  let busy = false;
  const completed: string[] = [];

  const runOf = (job: Job<SweepJobData>): PlannedRun => {
    const runsDir = path.resolve(o.runsDir ?? job.data.runsDir);
    return { index: job.data.index, id: job.data.runId, spec: job.data.spec, values: {}, runDir: path.join(runsDir, job.data.runId), totalSteps: job.data.totalSteps };
  };

  const processor = async (job: Job<SweepJobData, SweepJobResult>, token?: string): Promise<SweepJobResult> => {
    busy = true;
    const run = runOf(job);
    const attempt = Math.max(1, job.attemptsStarted);
    log(`start ${run.id} (run ${run.index} of sweep ${job.data.sweep}, attempt ${attempt}, restarts after a lost worker ${job.stalledCounter})`);
    let lastReport = 0;
    try {
      const result = await trainRun(run, {
        root: o.root,
        runsDir: path.dirname(run.runDir),
        attempt,
        log,
        previousWorkerLost: job.stalledCounter > 0,
        shouldStop: () => stopping,
        onProgress: async (p) => {
          // One Redis write a second at most, and always the last step's.
          const now = Date.now();
          if (now - lastReport < 1000 && p.step < p.totalSteps) return;
          lastReport = now;
          await job.updateProgress({ ...p, worker: me } satisfies SweepJobProgress);
        },
      });
      log(`done ${run.id}: ${result.steps} steps, val perplexity ${result.valPerplexity.toFixed(2)}`);
      completed.push(run.id);
      return { runId: run.id, runDir: result.runDir, steps: result.steps, finalTrainLoss: result.finalTrainLoss, valPerplexity: result.valPerplexity, device: result.device, worker: me };
    } catch (err) {
      if (stopping && err instanceof TrainingError && token) {
        // Stopped on request (SIGTERM, pre-emption): back to the queue without using up an attempt.
        await job.moveToWait(token);
        log(`stopped ${run.id}; it is back in the queue and resumes from its checkpoint`);
        throw new WaitingError();
      }
      log(`error in ${run.id}: ${(err as Error).message}`);
      throw err;
    } finally {
      busy = false;
    }
  };

  const worker = new Worker<SweepJobData, SweepJobResult>(name, processor, {
    connection,
    concurrency: 1,
    lockDuration: o.lockDurationMs ?? DEFAULT_LOCK_MS,
    stalledInterval: o.stalledIntervalMs ?? DEFAULT_STALLED_MS,
    maxStalledCount: o.maxStalledCount ?? 2,
    drainDelay: 1,
    name: me,
  });
  worker.on('stalled', (jobId) => log(`job ${jobId} lost its worker; it goes back to the queue and resumes from its last checkpoint`));
  worker.on('failed', (job, err) => {
    if (!job) return;
    // 'failed' also fires for a try that will be retried; only a job BullMQ gave up on is marked in its folder.
    void job.getState().then((state) => {
      if (state !== 'failed') return;
      writeFailure(runOf(job).runDir, { reason: err.message, worker: me, attempts: job.attemptsMade });
      log(`failed ${job.id} for good: ${err.message}`);
    });
  });
  worker.on('error', (err) => log(`worker error: ${err.message}`));

  const queue = o.idleExitMs !== undefined ? new Queue(name, { connection }) : undefined;
  let idleSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    if (timer) clearInterval(timer);
    closing ??= worker.close().then(() => queue?.close());
    return closing;
  };
  let resolveFinished!: () => void;
  const finished = new Promise<void>((r) => (resolveFinished = r));
  if (queue) {
    timer = setInterval(() => {
      if (busy) return void (idleSince = undefined);
      // A dead worker's job still counts as active until the stalled check returns it, so the survivors wait for it.
      void queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused').then((c) => {
        const left = Object.values(c).reduce((a, b) => a + b, 0);
        if (left > 0 || busy) return void (idleSince = undefined);
        idleSince ??= Date.now();
        if (Date.now() - idleSince >= o.idleExitMs!) {
          log(`queue ${name} idle for ${Math.round(o.idleExitMs! / 1000)} s; exiting`);
          void close().then(resolveFinished);
        }
      });
    }, 250);
  }
  return {
    finished,
    completed,
    stop: () => {
      stopping = true;
      void close().then(resolveFinished);
    },
  };
}
