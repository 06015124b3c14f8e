// The embedded default: a sweep on this machine, no server. One worker trains the runs one after another in
// this process; N workers are N child processes, each given one run at a time (`mla sweep run FILE --index I`),
// so a run's memory and GPU device are released when it ends and a crash costs one run, not the sweep.
import { spawn } from 'node:child_process';
import type { RunResult } from '../experiments/runs';
import type { PlannedRun, SweepPlan } from './plan';
import { trainRun } from './run-one';
import type { TrainRunOptions } from './run-one';
import { sweepStatus, workerName, writeFailure } from './status';
import { processEnv } from '../settings';

export interface LocalOutcome {
  id: string;
  index: number;
  ok: boolean;
  /** Why it failed; undefined when it finished. */
  reason?: string;
}

/** Runs that still need training, in index order. */
export function runsToDo(plan: SweepPlan): PlannedRun[] {
  const statuses = sweepStatus(plan);
  return plan.runs.filter((r) => statuses[r.index].state !== 'done');
}

/** Trains one run here; a thrown error is written to the run folder as its failure and returned. */
export async function runOneHere(run: PlannedRun, o: TrainRunOptions): Promise<{ result?: RunResult; outcome: LocalOutcome }> {
  try {
    const result = await trainRun(run, o);
    return { result, outcome: { id: run.id, index: run.index, ok: true } };
  } catch (err) {
    const reason = (err as Error).message;
    writeFailure(run.runDir, { reason, worker: workerName() });
    return { outcome: { id: run.id, index: run.index, ok: false, reason } };
  }
}

/** The sweep's unfinished runs in this process, one after another. */
export async function runSweepHere(plan: SweepPlan, o: TrainRunOptions): Promise<LocalOutcome[]> {
  const outcomes: LocalOutcome[] = [];
  for (const run of runsToDo(plan)) {
    o.log?.(`run ${run.index} of ${plan.runs.length}: ${run.id}`);
    outcomes.push((await runOneHere(run, o)).outcome);
  }
  return outcomes;
}

export interface ChildCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * The unfinished runs over `workers` child processes. `childFor(run, slot)` builds worker slot's command for a
 * run (slot 0..workers-1, e.g. to give each slot its own GPU). Child output goes to `log`, prefixed.
 */
export async function runSweepInChildren(
  plan: SweepPlan,
  workers: number,
  childFor: (run: PlannedRun, slot: number) => ChildCommand,
  log: (line: string) => void = () => {},
): Promise<LocalOutcome[]> {
  const todo = runsToDo(plan);
  const outcomes: LocalOutcome[] = [];
  const slot = async (k: number): Promise<void> => {
    for (let run = todo.shift(); run; run = todo.shift()) {
      const c = childFor(run, k);
      const tag = `[worker ${k}] `;
      log(`${tag}run ${run.index}: ${run.id}`);
      const code = await new Promise<number>((resolve) => {
        const child = spawn(c.command, c.args, { env: c.env ?? processEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
        let tail = '';
        const pipe = (chunk: Buffer) => {
          const text = tail + chunk.toString('utf8');
          const lines = text.split('\n');
          tail = lines.pop() ?? '';
          for (const l of lines) log(tag + l);
        };
        child.stdout.on('data', pipe);
        child.stderr.on('data', pipe);
        child.on('error', (e) => {
          log(`${tag}cannot start ${c.command}: ${e.message}`);
          resolve(127);
        });
        child.on('close', (code, signal) => {
          if (tail) log(tag + tail);
          resolve(code ?? (signal ? 128 : 1));
        });
      });
      // The child writes its own failure marker; one killed by a signal could not, so it is written here.
      if (code !== 0 && code >= 128) writeFailure(run.runDir, { reason: `worker process ended with code ${code}`, worker: workerName() });
      outcomes.push({ id: run.id, index: run.index, ok: code === 0, reason: code === 0 ? undefined : `exit code ${code}` });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, workers) }, (_, k) => slot(k)));
  return outcomes.sort((a, b) => a.index - b.index);
}
