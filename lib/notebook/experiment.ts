// The training experiments of the study as notebook calls: run every preset × seed of a scale's experiment
// through the experiment runner (reusing finished runs), with a live chart per run, then tabulate and draw from
// the run files.
import * as path from 'node:path';
import { describeBackend } from '../backend/init';
import { TrainingError } from '../train/errors';
import { experimentSpecs, type ExperimentRunReport, modelOf, runSpecs, scaleRunsDir, TrainingExperimentName } from '../experiments/runner';
import type { RunResult, RunSpec } from '../experiments/runs';
import { runStatuses } from '../experiments/runner';
import type { DesignStudyName } from '../experiments/runner';
import { designStudyStatus, runDesignStudy } from '../experiments/design-studies';
import type { DesignStudyResults, SourceStatus } from '../experiments/design-studies';
import type { BandCurve } from '../experiments/report';
import type { Figure } from './plotly';
import { liveTraining } from './live';
import { projectRoot } from './paths';
import type { ExperimentScale, Scale } from './scale';
import { type Env, notebookSettings, notebookSettingsFromEnv } from '../settings';

export interface TrainingExperimentOptions {
  seeds: number[];
  /** Data spec (the scale's `data`). */
  data: string;
  /** Retrain finished runs ($MLA_FORCE=1 does the same). */
  force?: boolean;
  /** Tokens of the training split scored after training, for the study's "training perplexity". */
  trainEvalTokens?: number;
  /** Checked before every step of every run; true stops (the run keeps its checkpoint and resumes next time). */
  shouldStop?: () => boolean;
  /** Where run folders go (default: data/runs). */
  runsDir?: string;
}

type Diverged = ExperimentRunReport['diverged'];

/**
 * Trains or reuses `specs` with a live chart per run; interrupting the cell stops after the current step. A run
 * that diverges is logged (by the runner) and returned apart, and the others still train.
 */
async function trainWithLiveCharts(label: string, specs: RunSpec[], o: { force?: boolean; shouldStop?: () => boolean; runsDir?: string }): Promise<{ results: RunResult[]; diverged: Diverged }> {
  const force = o.force ?? notebookSettings().force;
  // Interrupting the cell (Jupyter sends the kernel SIGINT) stops the run after its current step, with a
  // checkpoint; the cell then fails with "stopped at step N … rerun to resume".
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  let live: ReturnType<typeof liveTraining> | undefined;
  try {
    const r = await runSpecs(label, specs, {
      force,
      runsDir: o.runsDir,
      shouldStop: () => interrupted || (o.shouldStop?.() ?? false),
      log: (line) => console.log(line),
      progressEvery: 1_000_000,
      hooks: { onStep: (m) => live?.onStep(m), onEval: (m) => live?.onEval(m) },
      onRunStart: (spec) => {
        live = liveTraining({ title: `${modelOf(spec)} · seed ${spec.seed}` });
        return () => live?.done();
      },
    });
    if (r.pending.length) throw new TrainingError(`${r.stopMessage ?? `stopped before ${r.pending[0].preset} seed ${r.pending[0].seed}`} (${r.pending.length} of ${specs.length} runs unfinished; rerun the cell to resume)`);
    return { results: r.results, diverged: r.diverged };
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** Every preset × seed of the experiment, in order; a finished run is read back instead of retrained. */
export async function runTrainingExperiment(exp: ExperimentScale, o: TrainingExperimentOptions): Promise<RunResult[]> {
  const specs: RunSpec[] = [];
  for (const preset of exp.presets) {
    for (const seed of o.seeds) specs.push({ preset, seed, data: o.data, train: exp.train, trainEvalTokens: o.trainEvalTokens ?? exp.train.evalTokens });
  }
  return (await trainWithLiveCharts('', specs, o)).results;
}

/** Scales whose runs take a GPU: on another backend a notebook shows their finished runs and trains none. */
export function needsGpu(s: Scale): boolean {
  return s.name === 'gpu' || s.name === 'paper';
}

export interface ScaleExperimentResults {
  results: RunResult[];
  /** Runs of the experiment that are not finished (left for the GPU), and the command that trains them. */
  pending: RunSpec[];
  command: string | null;
  /** Runs whose loss diverged (their folders hold diverged.json): missing from `results`, not pending. */
  diverged: Diverged;
}

/** One line naming the diverged runs, so that a table without them does not pass for complete. */
function divergedLine(d: Diverged): string {
  return `${d.length} run${d.length > 1 ? 's' : ''} diverged and ${d.length > 1 ? 'are' : 'is'} left out of the results: ${d.map((x) => `${modelOf(x.spec)} seed ${x.spec.seed}${x.spec.train.lr === undefined ? '' : ` lr ${x.spec.train.lr}`} at step ${x.step} (${path.basename(x.runDir)})`).join(', ')}`;
}

/**
 * The experiment `name` of scale `s` as a notebook shows it: its finished runs (from the scale's run folders),
 * training the missing ones here unless the scale needs a GPU and this backend is not one — then they are listed
 * with the `mla experiment run` command that trains them ($MLA_TRAIN=1 trains them here anyway).
 */
export async function scaleExperiment(s: Scale, name: TrainingExperimentName, o: { seeds?: number[]; force?: boolean; env?: Env } = {}): Promise<ScaleExperimentResults> {
  const trainAnyway = o.env ? notebookSettingsFromEnv(o.env).train : notebookSettings().train;
  const runsDir = scaleRunsDir(s, projectRoot());
  const specs = experimentSpecs(s, name, { seeds: o.seeds });
  const here = !needsGpu(s) || describeBackend().backend === 'webgpu' || trainAnyway;
  if (here) {
    const r = await trainWithLiveCharts(name, specs, { force: o.force, runsDir });
    if (r.diverged.length) console.log(divergedLine(r.diverged));
    return { results: r.results, pending: [], command: null, diverged: r.diverged };
  }
  const statuses = await runStatuses(specs, { runsDir });
  const pending = statuses.filter((x) => x.state !== 'done' && x.state !== 'diverged').map((x) => x.spec);
  const command = pending.length ? `mla experiment run --experiment ${name} --scale ${s.name} --backend webgpu` : null;
  const diverged = statuses.filter((x) => x.diverged).map((x) => ({ spec: x.spec, runDir: x.dir, step: x.diverged!.step, message: x.diverged!.message }));
  if (diverged.length) console.log(divergedLine(diverged));
  return { results: statuses.filter((x) => x.result).map((x) => x.result!), pending, command, diverged };
}

export interface ScaleStudyResults<R> {
  /** The finished study: computed here, or read from the scale's (committed) study folder; null when neither. */
  result: R | null;
  /** Its source runs and their state here. */
  sources: SourceStatus[];
  /** When there is no result: what to run on a GPU machine, and why, in one line. */
  command: string | null;
  message: string | null;
}

/**
 * The design study `name` of scale `s` (latentQuant: notebook 10, convert: notebook 09) as a notebook shows it:
 * computed here (its sources trained or reused first) unless the scale needs a GPU and this backend is not one
 * ($MLA_TRAIN=1 computes anyway), else read from the scale's finished study folder, else a message with the
 * command that computes it on the GPU and the state of each source run. Interrupting the cell stops it between
 * units; rerunning resumes.
 */
export async function scaleStudy<K extends DesignStudyName>(s: Scale, name: K, o: { force?: boolean; env?: Env; log?: (line: string) => void } = {}): Promise<ScaleStudyResults<DesignStudyResults[K]>> {
  const settings = o.env ? notebookSettingsFromEnv(o.env) : notebookSettings();
  const runsDir = scaleRunsDir(s, projectRoot());
  const log = o.log ?? ((line: string) => console.log(line));
  const here = !needsGpu(s) || describeBackend().backend === 'webgpu' || settings.train;
  if (here) {
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.on('SIGINT', onSigint);
    try {
      const r = await runDesignStudy(s, name, { runsDir, force: o.force ?? settings.force, shouldStop: () => interrupted, log });
      if (!r.result) throw new TrainingError(`${r.stopMessage ?? `${name} stopped`} (rerun the cell to resume)`);
      const st = await designStudyStatus(s, name, { runsDir });
      return { result: r.result, sources: st.sources, command: null, message: null };
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
  }
  const st = await designStudyStatus(s, name, { runsDir });
  if (st.result) return { result: st.result, sources: st.sources, command: null, message: null };
  const command = `mla experiment run --experiment ${name} --scale ${s.name} --backend webgpu`;
  const states = st.sources.map((x) => `${x.role} ${path.basename(x.dir)} (${x.state}${x.state === 'done' && x.loads ? ', needs its checkpoint on the GPU machine' : ''})`);
  const message =
    `${name} at scale ${s.name} is not computed yet (no finished ${st.dir}; ${st.units.done} of ${st.units.total} units here). ` +
    `On the GPU machine that trained or will train its sources, run: ${command}. Sources: ${states.join('; ')}`;
  return { result: null, sources: st.sources, command, message };
}

/**
 * The study's model for a preset of another size: `small-mla-rope` → `35m-mla-rope`, so our numbers can stand
 * beside what the study printed for the same design.
 */
export function studyCounterpart(preset: string, size: '35m' | '300m'): string {
  return preset.replace(/^[a-z0-9]+-/, `${size}-`);
}

/** Line colours by series index, shared by the notebook figures. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function rgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Loss against tokens, one line per preset (mean over seeds) with a shaded min–max band across seeds. */
export function lossCurveFigure(curves: BandCurve[], title: string, yTitle = 'loss (nats/token)'): Figure {
  const data: Record<string, unknown>[] = [];
  curves.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    if (c.seeds > 1) {
      // The band: upper edge, then the lower edge filled up to it.
      data.push({ x: c.tokens, y: c.hi, mode: 'lines', line: { width: 0 }, showlegend: false, hoverinfo: 'skip', legendgroup: c.preset });
      data.push({ x: c.tokens, y: c.lo, mode: 'lines', line: { width: 0 }, fill: 'tonexty', fillcolor: rgba(color, 0.2), showlegend: false, hoverinfo: 'skip', legendgroup: c.preset });
    }
    // Markers where points are few (validation curves, a one-evaluation run), so every point shows.
    const mode = c.tokens.length <= 30 ? 'lines+markers' : 'lines';
    data.push({ x: c.tokens, y: c.mean, mode, name: `${c.preset} (${c.seeds} seed${c.seeds > 1 ? 's' : ''})`, line: { color }, legendgroup: c.preset });
  });
  return {
    data,
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'training tokens' } },
      yaxis: { title: { text: yTitle } },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}
