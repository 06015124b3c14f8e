// The peak learning rate a run of a scale trains at: its attention kind's rate when the scale has one (chosen by
// the scale's LR sweep), else the experiment's own. Its own module so that the experiment runner and the
// design-space sweeps (lib/notebook/design-space.ts) share it without importing each other.
import { resolveConfig } from '../config/presets';
import type { ExperimentScale, Scale } from '../notebook/scale';

/** The peak learning rate of a preset at this scale: its attention kind's rate if the scale has one. */
export function learningRateFor(s: Scale, exp: Pick<ExperimentScale, 'train'>, preset: string): number | undefined {
  const kind = resolveConfig(preset).attention;
  return s.lr?.[kind] ?? exp.train.lr;
}
