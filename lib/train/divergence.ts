// Divergence beyond non-finite values: a run whose loss sits far above where it has been, or above what a
// model predicting uniformly would score (ln V), for several steps in a row is not coming back, and every
// checkpoint it writes meanwhile is worse than the last sane one. One bad step is a spike, not a divergence.

/** Nats above ln(V), the uniform model's loss, that count as insane: an untrained model starts at about ln(V). */
export const DIVERGENCE_MARGIN_NATS = 2;
/** A loss above this multiple of the running median of the sane losses counts as insane. */
export const DIVERGENCE_MEDIAN_RATIO = 2;
/** Sane losses the median is taken over, and how many it needs before it is trusted. */
const MEDIAN_WINDOW = 100;
const MEDIAN_MIN = 10;

export interface LossVerdict {
  /** This step's loss is insane (the step is part of a streak). */
  bad: boolean;
  /** Set once the streak is `patience` long: what was exceeded, for the message. */
  diverged?: string;
}

export class DivergenceGuard {
  private readonly recent: number[] = [];
  private readonly ceiling: number;
  /** First step of the current streak of insane losses (undefined: the last step was sane). */
  streakStart: number | undefined;

  /** `patience` insane steps in a row stop the run; 0 turns the guard off. */
  constructor(
    vocabSize: number,
    private readonly patience: number,
  ) {
    this.ceiling = Math.log(vocabSize) + DIVERGENCE_MARGIN_NATS;
  }

  /** Sane losses of earlier steps (a resumed run's metrics), so the median does not start from nothing. */
  seed(losses: number[]): void {
    for (const l of losses.slice(-MEDIAN_WINDOW)) if (Number.isFinite(l) && l <= this.ceiling) this.push(l);
  }

  observe(step: number, loss: number): LossVerdict {
    if (this.patience <= 0) return { bad: false };
    const median = this.median();
    const why =
      loss > this.ceiling
        ? `ln(V) + ${DIVERGENCE_MARGIN_NATS} = ${this.ceiling.toFixed(2)}`
        : median !== undefined && loss > DIVERGENCE_MEDIAN_RATIO * median
          ? `${DIVERGENCE_MEDIAN_RATIO}× the running median ${median.toFixed(4)}`
          : undefined;
    if (why === undefined) {
      this.streakStart = undefined;
      this.push(loss);
      return { bad: false };
    }
    this.streakStart ??= step;
    const length = step - this.streakStart + 1;
    return { bad: true, diverged: length >= this.patience ? `above ${why} for ${length} steps in a row (since step ${this.streakStart})` : undefined };
  }

  private push(loss: number): void {
    this.recent.push(loss);
    if (this.recent.length > MEDIAN_WINDOW) this.recent.shift();
  }

  private median(): number | undefined {
    if (this.recent.length < MEDIAN_MIN) return undefined;
    const s = [...this.recent].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }
}
