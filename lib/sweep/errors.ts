// The sweep's error type: one line naming the sweep file's key (or axis), the bad value and the fix, so the CLI
// prints it without a stack.
export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepError';
  }
}
