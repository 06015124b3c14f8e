// A tiny training run in its own process, for resume.test.ts and faults.test.ts to kill, signal and resume.
// Its one argument is JSON { options, stepDelayMs, killAt, signals }: killAt {phase, file, nth} SIGKILLs the
// process at the nth time a checkpoint save reaches that fault point for a file of that name; signals installs
// the SIGINT/SIGTERM/SIGHUP stop handlers as a CLI does, exiting 128 + the signal after the checkpoint.
// Without an argument (as when the test runner loads every file under test/) it does nothing.
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultPhase, setFaultHook } from '../../lib/checkpoint/faults';
import { installStopSignals } from '../../lib/train/signals';
import { train } from '../../lib/train/trainer';
import type { TrainOptions } from '../../lib/train/types';
import { ToyBigram, toyConfig, toyData, useCpu } from './toy';

export interface ChildArgs {
  options: Partial<TrainOptions>;
  stepDelayMs?: number;
  killAt?: { phase: FaultPhase; file: string; nth: number };
  signals?: boolean;
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) return;
  const { options, stepDelayMs, killAt, signals } = JSON.parse(arg) as ChildArgs;
  await useCpu();
  if (killAt) {
    let hits = 0;
    setFaultHook((phase, file) => {
      if (phase === killAt.phase && path.basename(file) === killAt.file && ++hits === killAt.nth) process.kill(process.pid, 'SIGKILL');
    });
  }
  const stop = signals ? installStopSignals(() => console.error('stopping')) : undefined;
  const model = new ToyBigram(toyConfig(), 1);
  // The delay only slows the run down so the parent can act mid-way; it touches no training state.
  await train(model, toyData(), options as TrainOptions, {
    onStep: async () => void (stepDelayMs ? await sleep(stepDelayMs) : undefined),
    shouldStop: stop?.shouldStop,
  });
  if (stop?.exitCode() !== undefined) process.exitCode = stop.exitCode();
  stop?.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
