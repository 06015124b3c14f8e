// The checkpoint code's one error type: every message names the file and what to do, so the CLI prints it
// without a stack (see cli/errors.ts).
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}
