// The learning rate at each optimizer step, as pure functions: linear warm-up to the peak, then a half cosine
// down to a floor (the original: 10% of the peak). Steps are 0-based optimizer steps (not micro-batches);
// step s is the LR used by the s-th update.

export interface LrSchedule {
  /** Peak learning rate (the original: 6e-4). */
  peakLr: number;
  /** Steps of linear warm-up; the LR reaches the peak at the end of step warmupSteps - 1. */
  warmupSteps: number;
  /** Steps the cosine is sized for: it reaches the floor at step totalSteps - 1. */
  totalSteps: number;
  /** Floor as a fraction of the peak (the original: 0.1). */
  minLrRatio: number;
}

/** Default warm-up: 5% of the run's optimizer steps, at least one step. */
export const DEFAULT_WARMUP_FRACTION = 0.05;
export const DEFAULT_MIN_LR_RATIO = 0.1;

/**
 * How the study's schedule is modelled. Its warm-up was sized for a much longer run than the one it trained, so
 * the run ended while the LR was still climbing: the last update used about 13% of the peak. We model that by
 * a warm-up of `steps / ORIGINAL_LR_REACHED` steps (7.7× the run) and a cosine sized for a run
 * `1 / ORIGINAL_WARMUP_FRACTION` times the warm-up. Only ORIGINAL_LR_REACHED is a fact about the study (from
 * its author's account); the run length it was sized for is not known and never matters, since the decay is
 * never reached.
 */
export const ORIGINAL_LR_REACHED = 0.13;
export const ORIGINAL_WARMUP_FRACTION = 0.05;

/** The learning rate of 0-based optimizer step `step`. */
export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmupSteps) return (s.peakLr * (step + 1)) / s.warmupSteps;
  const floor = s.peakLr * s.minLrRatio;
  const decaySteps = s.totalSteps - s.warmupSteps;
  if (decaySteps <= 1) return s.peakLr;
  const progress = Math.min(1, (step - s.warmupSteps) / (decaySteps - 1)); // 0 at the peak, 1 at the last step
  return floor + 0.5 * (s.peakLr - floor) * (1 + Math.cos(Math.PI * progress));
}

/** The schedule sized to a run of `steps` optimizer steps. */
export function cosineSchedule(steps: number, peakLr: number, warmupSteps?: number, minLrRatio = DEFAULT_MIN_LR_RATIO): LrSchedule {
  const warm = warmupSteps ?? Math.max(1, Math.round(steps * DEFAULT_WARMUP_FRACTION));
  return { peakLr, warmupSteps: warm, totalSteps: steps, minLrRatio };
}

/** The study's mis-sized schedule for a run of `steps` optimizer steps (see ORIGINAL_LR_REACHED). */
export function originalSchedule(steps: number, peakLr: number, minLrRatio = DEFAULT_MIN_LR_RATIO): LrSchedule {
  const warmupSteps = Math.ceil(steps / ORIGINAL_LR_REACHED);
  return { peakLr, warmupSteps, totalSteps: Math.ceil(warmupSteps / ORIGINAL_WARMUP_FRACTION), minLrRatio };
}

/** The largest LR a run of `steps` steps uses under `s`, as a fraction of the peak. */
export function peakFractionReached(steps: number, s: LrSchedule): number {
  let best = 0;
  for (let i = 0; i < steps; i++) best = Math.max(best, lrAt(i, s));
  return best / s.peakLr;
}
