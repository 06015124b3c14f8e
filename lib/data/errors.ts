// The data pipeline's one error type: its message names the file or value at fault and how to fix it, so the
// CLI prints it without a stack (see cli/errors.ts).
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
