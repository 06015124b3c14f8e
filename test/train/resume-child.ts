// A tiny training run in its own process, for resume.test.ts to kill and resume. Its one argument is JSON
// { options, stepDelayMs }. Without an argument (as when the test runner loads every file under test/) it does
// nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { train } from '../../lib/train/trainer';
import type { TrainOptions } from '../../lib/train/types';
import { ToyBigram, toyConfig, toyData, useCpu } from './toy';

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg) return;
  const { options, stepDelayMs } = JSON.parse(arg) as { options: TrainOptions; stepDelayMs?: number };
  await useCpu();
  const model = new ToyBigram(toyConfig(), 1);
  // The delay only slows the run down so the parent can kill it mid-way; it touches no training state.
  await train(model, toyData(), options, { onStep: async () => void (stepDelayMs ? await sleep(stepDelayMs) : undefined) });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
