// Errors the CLI reports as one clear message (no stack trace): bad flags, bad config, bad files.
import { ConfigError } from '../lib/config/validate';

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
const USER_ERRORS = new Set(['CliError', 'ConfigError', 'CheckpointError', 'DataError', 'TrainingError', 'BackendError']);

export function formatError(err: unknown): string {
  if (err instanceof Error && (USER_ERRORS.has(err.name) || err instanceof ConfigError)) {
    const hint = err instanceof CliError && err.hint ? `\n${err.hint}` : '';
    return `mla: ${err.message}${hint}`;
  }
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return `mla: ${err.message}`;
  }
  return `mla: unexpected error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
}
