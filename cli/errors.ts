// Errors the CLI reports as one clear message (no stack trace): bad flags, bad config, bad files, and fs errors
// a user can fix (a full disk, a missing or read-only folder). Anything else is a bug and shows its stack;
// --debug shows the stack of every error.
import { ConfigError } from '../lib/config/validate';
import { fsErrorFix } from '../lib/checkpoint/errors';

export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Library errors that carry their own fix in the message are printed without a stack. */
const USER_ERRORS = new Set(['CliError', 'ConfigError', 'CheckpointError', 'DataError', 'TrainingError', 'BackendError', 'DeviceError', 'GenerateError', 'SweepError', 'BenchError', 'StudyError']);

/** An fs error with a path and a code a user can act on, as one line; undefined for any other error. */
function fsUserError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const fix = e instanceof Error ? fsErrorFix(e.code) : undefined;
  if (!fix || !e.path) return undefined;
  return `cannot ${e.syscall ?? 'use'} ${e.path} (${e.code}): ${fix}`;
}

export function formatError(err: unknown, debug = false): string {
  const stack = debug && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  if (err instanceof Error && (USER_ERRORS.has(err.name) || err instanceof ConfigError)) {
    const hint = err instanceof CliError && err.hint ? `\n${err.hint}` : '';
    return `mla: ${err.message}${hint}${stack}`;
  }
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `mla: ${err.message}${stack}`;
  }
  const fs = fsUserError(err);
  if (fs) return `mla: ${fs}${stack}`;
  return `mla: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
}
