// A run's state is read from its folder, never from a server, so `mla sweep status` works the same on one
// machine, behind a queue or after an array job, and a folder copied from elsewhere counts:
//   done     result.json (the runner writes it last)
//   failed   sweep-failed.json (written here when a run gave up; removed when it is tried again)
//   running  config.json, a claim (sweep-worker.json) or a lock file without a result: training, or stopped
//            and resumable from its last checkpoint
//   pending  no folder, or one without config.json
// Other files in a run folder (another tool's lock, notes) are ignored except for being mentioned.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RESULT_FILE } from '../experiments/runs';
import type { RunResult } from '../experiments/runs';
import { CONFIG_FILE, METRICS_FILE, readJsonFile, writeJsonFile } from '../train/run-dir';
import type { PlannedRun, SweepPlan } from './plan';

export const FAILURE_FILE = 'sweep-failed.json';
/** Who is (or last was) training the run: host, pid, attempt. */
export const CLAIM_FILE = 'sweep-worker.json';

export type RunState = 'done' | 'running' | 'failed' | 'pending';
export const RUN_STATES: readonly RunState[] = ['done', 'running', 'failed', 'pending'];

export interface RunFailure {
  reason: string;
  /** Where it failed: host:pid, or the queue worker. */
  worker: string;
  attempts?: number;
  time: string;
}

export interface RunClaim {
  worker: string;
  attempt: number;
  time: string;
}

export interface RunStatus {
  index: number;
  id: string;
  state: RunState;
  runDir: string;
  /** Last logged training step (running) or the run's steps (done). */
  step?: number;
  totalSteps: number;
  /** Failure reason, who trains it, or a lock seen in the folder. */
  detail?: string;
}

/** host:pid of this process, as claims and failures record it. */
export function workerName(): string {
  return `${os.hostname()}:${process.pid}`;
}

/** The last training step in metrics.jsonl, read from the file's tail so a long run's log is not parsed whole. */
function lastStep(runDir: string): number | undefined {
  const file = path.join(runDir, METRICS_FILE);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').reverse();
    for (const line of lines) {
      const m = /"kind":"train".*?"step":(\d+)|"step":(\d+).*?"kind":"train"/.exec(line);
      if (m) return Number(m[1] ?? m[2]);
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether host:pid names a process of this host that no longer runs (other hosts cannot be checked from here). */
function goneHere(worker: string): boolean {
  const at = worker.lastIndexOf(':');
  const pid = Number(worker.slice(at + 1));
  if (worker.slice(0, at) !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A lock another tool may leave in the run folder (`lock`, `*.lock`), if any. */
function lockIn(runDir: string): string | undefined {
  try {
    // lib/train/lock.ts's `lock`, or another tool's.
    return fs.readdirSync(runDir).find((f) => /^\.?lock(\.json)?$|\.lock$/.test(f));
  } catch {
    return undefined;
  }
}

export function runStatus(run: PlannedRun, runDir: string = run.runDir): RunStatus {
  const base = { index: run.index, id: run.id, runDir, totalSteps: run.totalSteps };
  const result = readJsonFile<RunResult>(path.join(runDir, RESULT_FILE));
  if (result) return { ...base, state: 'done', step: result.steps };
  const failure = readJsonFile<RunFailure>(path.join(runDir, FAILURE_FILE));
  if (failure) return { ...base, state: 'failed', step: lastStep(runDir), detail: `${failure.reason} (${failure.worker}, ${failure.time})` };
  const lock = lockIn(runDir);
  const claim = readJsonFile<RunClaim>(path.join(runDir, CLAIM_FILE));
  if (fs.existsSync(path.join(runDir, CONFIG_FILE)) || lock || claim) {
    const who = claim ? `${claim.worker}, attempt ${claim.attempt}, since ${claim.time}${goneHere(claim.worker) ? '; that process is gone: stopped, resumes when run again' : ''}` : undefined;
    const detail = [who, lock ? `lock file '${lock}'` : undefined].filter(Boolean).join('; ');
    return { ...base, state: 'running', step: lastStep(runDir), detail: detail || undefined };
  }
  return { ...base, state: 'pending' };
}

/**
 * Every run's state. With several roots (folders gathered from machines without a shared filesystem), the
 * most advanced state wins: done anywhere is done.
 */
export function sweepStatus(plan: SweepPlan, roots: string[] = [plan.runsDir]): RunStatus[] {
  const rank: Record<RunState, number> = { done: 0, failed: 1, running: 2, pending: 3 };
  return plan.runs.map((run) =>
    roots.map((r) => runStatus(run, path.join(r, run.id))).reduce((best, s) => (rank[s.state] < rank[best.state] ? s : best)),
  );
}

/** Counts per state, in RUN_STATES order. */
export function countStates(statuses: RunStatus[]): Record<RunState, number> {
  const counts = { done: 0, running: 0, failed: 0, pending: 0 };
  for (const s of statuses) counts[s.state]++;
  return counts;
}

export function writeFailure(runDir: string, failure: Omit<RunFailure, 'time'>): void {
  fs.mkdirSync(runDir, { recursive: true });
  writeJsonFile(path.join(runDir, FAILURE_FILE), { ...failure, time: new Date().toISOString() });
}

export function writeClaim(runDir: string, attempt: number): void {
  fs.mkdirSync(runDir, { recursive: true });
  writeJsonFile(path.join(runDir, CLAIM_FILE), { worker: workerName(), attempt, time: new Date().toISOString() } satisfies RunClaim);
}
