// The trainer's error type: the message names the step, the option or the folder at fault and what to try,
// so the CLI prints it without a stack (see cli/errors.ts).
export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

/**
 * The loss diverged (non-finite, or insane for divergenceSteps steps in a row; lib/train/divergence.ts): an
 * outcome of the run's settings, which a rerun repeats, so a runner records it and goes on with other runs. Its
 * name stays 'TrainingError', so whatever sorts errors by name (the CLI's one-line errors) treats it as before.
 */
export class DivergenceError extends TrainingError {
  constructor(
    message: string,
    /** The first step of the insane streak, or the step whose loss or gradient norm was not finite. */
    readonly step: number,
    /** That step's training loss (NaN or ±Infinity when it was not finite). */
    readonly loss: number,
    /** The guard's patience when a streak of insane losses stopped the run; undefined for a non-finite value. */
    readonly patience?: number,
  ) {
    super(message);
  }
}
