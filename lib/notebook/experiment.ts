// The training experiments of the study as notebook calls: run every preset × seed of a scale's experiment
// (reusing finished runs), then tabulate and draw from the run files.
import { ensureRun, RunResult, RunSpec } from '../experiments/runs';
import type { BandCurve } from '../experiments/report';
import type { Figure } from './plotly';
import { liveTraining } from './live';
import type { ExperimentScale } from './scale';

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

/** Every preset × seed of the experiment, in order; a finished run is read back instead of retrained. */
export async function runTrainingExperiment(exp: ExperimentScale, o: TrainingExperimentOptions): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const force = o.force ?? process.env.MLA_FORCE === '1';
  // Interrupting the cell (Jupyter sends the kernel SIGINT) stops the run after its current step, with a
  // checkpoint; the cell then fails with "stopped at step N … rerun to resume".
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  const shouldStop = () => interrupted || (o.shouldStop?.() ?? false);
  process.on('SIGINT', onSigint);
  try {
    for (const preset of exp.presets) {
      for (const seed of o.seeds) {
        const spec: RunSpec = { preset, seed, data: o.data, train: exp.train, trainEvalTokens: o.trainEvalTokens ?? exp.train.evalTokens };
        const live = liveTraining({ title: `${preset} · seed ${seed}` });
        try {
          const hooks = { onStep: live.onStep, onEval: live.onEval, shouldStop };
          results.push(await ensureRun(spec, { force, hooks, runsDir: o.runsDir, log: (line) => console.log(line) }));
        } finally {
          live.done();
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  return results;
}

/**
 * The study's model for a preset of another size: `small-mla-rope` → `35m-mla-rope`, so our numbers can stand
 * beside what the study printed for the same design.
 */
export function studyCounterpart(preset: string, size: '35m' | '300m'): string {
  return preset.replace(/^[a-z0-9]+-/, `${size}-`);
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

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
    data.push({ x: c.tokens, y: c.mean, mode: 'lines', name: `${c.preset} (${c.seeds} seed${c.seeds > 1 ? 's' : ''})`, line: { color }, legendgroup: c.preset });
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
