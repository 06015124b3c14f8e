// How many CPU threads the native kernels use: the threads option, else MLA_THREADS (settings.ts, already
// checked), else every core the process may use.
import * as os from 'node:os';
import { SettingsError } from '../../settings';

export function resolveThreads(requested?: number, fromSettings: number | null = null): number {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1 || requested > 1024) throw new SettingsError('threads option', String(requested), 'allowed: a whole number from 1 to 1024');
    return requested;
  }
  return fromSettings ?? os.availableParallelism();
}
