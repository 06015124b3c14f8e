// A benchmark's settings a user can fix (a missing token file, a sequence longer than the model's): one line.
export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}
