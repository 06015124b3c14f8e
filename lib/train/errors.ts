// The trainer's error type: the message names the step, the option or the folder at fault and what to try,
// so the CLI prints it without a stack (see cli/errors.ts).
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}
