// The peak learning rate a run of a scale trains at: its attention kind's rate when the scale has one (chosen by
// the scale's LR sweep), else the experiment's own. Its own module so that the experiment runner and the
// design-space sweeps (lib/notebook/design-space.ts) share it without importing each other.
import { resolveConfig } from '../config/presets';
import type { ExperimentScale, Scale } from '../notebook/scale';

/**
 * The peak learning rate of a preset in an experiment of this scale: the experiment's own rate for that preset
 * (`presetTrain`) if it has one, else its attention kind's rate if the scale has one, else the experiment's.
 */
export function learningRateFor(s: Scale, exp: Pick<ExperimentScale, 'train' | 'presetTrain'>, preset: string): number | undefined {
  const own = exp.presetTrain?.[preset]?.lr;
  if (own !== undefined) return own;
  const kind = resolveConfig(preset).attention;
  return s.lr?.[kind] ?? exp.train.lr;
}
