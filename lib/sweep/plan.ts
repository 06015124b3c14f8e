// From a sweep file to the list of runs with their ids. A run's id is the name of the folder the experiment
// runner gives it (lib/experiments/runs.ts runDirFor: <preset>-seed<S>-<hash of config, options, seed and
// corpus>), so a sweep finds the runs any notebook or earlier sweep already finished, and the id is the same on
// every machine that has the same corpus.
import * as path from 'node:path';
import { resolveConfig } from '../config/presets';
import { defaultDataRoot } from '../data/prepare';
import { corpusHashFor, datasetFor, runDirFor } from '../experiments/runs';
import type { RunSpec } from '../experiments/runs';
import { totalStepsOf } from '../experiments/runner';
import { SweepError } from './errors';
import { expandSweep } from './spec';
import type { SweepFile } from './spec';

export interface PlannedRun {
  /** Position in the sweep (what --index and array jobs select), 0-based. */
  index: number;
  /** The run folder's name: also the queue's job id. */
  id: string;
  spec: RunSpec;
  /** Axis key → this run's value. */
  values: Record<string, unknown>;
  runDir: string;
  /** Optimizer steps the run makes. */
  totalSteps: number;
}

export interface SweepPlan {
  name: string;
  file?: string;
  /** Data root the corpora and tokenizers come from. */
  root: string;
  runsDir: string;
  axes: string[];
  runs: PlannedRun[];
}

export interface PlanOptions {
  /** Data root (default: $MLA_DATA_ROOT, else the repository's data/). */
  root?: string;
  /** Overrides the sweep file's runsDir (default <root>/runs). */
  runsDir?: string;
  log?: (line: string) => void;
}

/** Expands the sweep, checks every value, and names each run by its folder. */
export async function planSweep(sweep: SweepFile, o: PlanOptions = {}): Promise<SweepPlan> {
  const root = path.resolve(o.root ?? defaultDataRoot());
  const runsDir = path.resolve(o.runsDir ?? sweep.runsDir ?? path.join(root, 'runs'));
  const log = o.log ?? (() => {});
  const points = expandSweep(sweep);
  const hashes = new Map<string, string>();
  const runs: PlannedRun[] = [];
  for (const p of points) {
    const config = resolveConfig(p.spec.preset, p.spec.overrides ?? {});
    // The hash is of the corpus, not the tokenizer, so one lookup per data spec serves every vocabulary.
    if (!hashes.has(p.spec.data)) hashes.set(p.spec.data, await corpusHashFor(p.spec.data, config.vocabSize, root, log));
    const runDir = runDirFor(p.spec, config, hashes.get(p.spec.data)!, runsDir);
    runs.push({ index: p.index, id: path.basename(runDir), spec: p.spec, values: p.values, runDir, totalSteps: totalStepsOf(p.spec, config.maxSeqLen) });
  }
  return { name: sweep.name, file: sweep.file, root, runsDir, axes: sweep.axes.map(([k]) => k), runs };
}

/**
 * Builds (or finds) every dataset the sweep's runs read, once, so that child processes started together do not
 * all build the same tokenizer and token files at once.
 */
export async function prepareSweepData(plan: SweepPlan, log: (line: string) => void = () => {}): Promise<void> {
  const seen = new Set<string>();
  for (const run of plan.runs) {
    const vocab = resolveConfig(run.spec.preset, run.spec.overrides ?? {}).vocabSize;
    const key = `${run.spec.data}|${vocab}`;
    if (seen.has(key)) continue;
    seen.add(key);
    await datasetFor(run.spec.data, vocab, plan.root, log);
  }
}

/** The run an array job's index selects; throws naming the range when it is outside the sweep. */
export function runAt(plan: SweepPlan, index: number): PlannedRun {
  const run = plan.runs[index];
  if (!Number.isInteger(index) || !run) {
    throw new SweepError(`run index ${index} is outside sweep '${plan.name}', which has runs 0..${plan.runs.length - 1}; e.g. sbatch --array=0-${plan.runs.length - 1}`);
  }
  return run;
}
