// The checkpoint code's one error type: every message names the file and what to do, so the CLI prints it
// without a stack (see cli/errors.ts).
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** What to do about an fs error code, for messages that name the file (undefined: not a user-fixable code). */
export function fsErrorFix(code: string | undefined): string | undefined {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no space left on the device; free some space or choose another folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; choose a folder you can write to';
    case 'EROFS':
      return 'the file system is read-only; choose another folder';
    case 'ENOENT':
      return 'the folder does not exist; create it first or choose another';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder; fix the path';
    case 'EISDIR':
      return 'it is a folder; name a file';
    default:
      return undefined;
  }
}

/** An fs error met while writing `file`, as a one-line CheckpointError; other errors pass through. */
export function writeError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  const fix = fsErrorFix(code);
  return fix ? new CheckpointError(`cannot write ${file} (${code}): ${fix}`) : err;
}
