// How many CPU threads the native kernels use: MLA_THREADS, else every core the process may use.
import * as os from 'node:os';
import { BackendError } from './errors';

export function resolveThreads(requested?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (requested !== undefined) return checkThreads(requested, 'threads option');
  const raw = env.MLA_THREADS;
  if (raw === undefined || raw === '') return os.availableParallelism();
  return checkThreads(Number(raw), `MLA_THREADS=${raw}`);
}

function checkThreads(n: number, source: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new BackendError(`${source} is not a valid thread count; use a whole number from 1 to 1024`);
  }
  return n;
}
