// A live view of a training run: hooks for the trainer that redraw ONE output area in place (tslab's
// newDisplay() sends Jupyter update_display_data messages) with the loss curve and a status line.
// Outside a notebook the same hooks print a throttled status line instead.
//
// Jupyter only receives an update when the kernel's event loop runs, so the trainer must await between steps
// (any await that yields, e.g. on data loading or `await new Promise(setImmediate)`); a fully synchronous loop
// shows only the final state.
import type { StepMetrics, ValMetrics } from '../train/types';
import { DisplayArea, NotebookDisplay, defaultDisplay } from './display';
import { lineChartSvg } from './svg-chart';

/** The fields of the trainer's step metrics drawn here (lib/train StepMetrics; others are ignored). */
export type LiveStep = Pick<StepMetrics, 'step' | 'tokens' | 'loss'> & Partial<Pick<StepMetrics, 'lr' | 'elapsedSec'>>;

/** The fields of the trainer's validation metrics drawn here (lib/train ValMetrics). */
export type LiveEval = Pick<ValMetrics, 'step' | 'valLoss'>;

export interface LiveTrainingOptions {
  /** Shown above the chart, e.g. the preset and seed. */
  title?: string;
  /** Least time between two redraws (default 1000 ms in a notebook, 10000 ms as text). */
  minIntervalMs?: number;
  display?: NotebookDisplay;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

export interface LiveTraining {
  onStep(m: LiveStep): void;
  onEval(m: LiveEval): void;
  /** Draws the final state whatever the throttle says; call it when the run ends. */
  done(): void;
  /** Everything received so far. */
  readonly steps: readonly LiveStep[];
  readonly evals: readonly LiveEval[];
}

export function liveTraining(opts: LiveTrainingOptions = {}): LiveTraining {
  const display = opts.display ?? defaultDisplay();
  const now = opts.now ?? (() => Date.now());
  const minInterval = opts.minIntervalMs ?? (display.rich ? 1000 : 10_000);
  const steps: LiveStep[] = [];
  const evals: LiveEval[] = [];
  const started = now();
  let area: DisplayArea | undefined;
  let lastDraw = -Infinity;

  const status = (): string => {
    const last = steps[steps.length - 1];
    const evalLast = evals[evals.length - 1];
    // The trainer's own clock leaves out validation and checkpoint time; ours is the fallback.
    const seconds = last?.elapsedSec ?? (now() - started) / 1000;
    const parts = [
      opts.title ?? 'training',
      last ? `step ${last.step}` : 'no steps yet',
      last ? `tokens ${last.tokens.toLocaleString('en-US')}` : '',
      last ? `loss ${last.loss.toFixed(4)}` : '',
      last?.lr !== undefined ? `lr ${last.lr.toExponential(2)}` : '',
      evalLast ? `val loss ${evalLast.valLoss.toFixed(4)} (ppl ${Math.exp(evalLast.valLoss).toFixed(2)})` : '',
      last && seconds > 0 ? `${Math.round(last.tokens / seconds).toLocaleString('en-US')} tok/s` : '',
      `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`,
    ];
    return parts.filter(Boolean).join(' | ');
  };

  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - lastDraw < minInterval) return;
    lastDraw = t;
    area ??= display.area();
    if (!display.rich) {
      area.text(status());
      return;
    }
    const svg = lineChartSvg(
      [
        { name: 'train loss', color: '#1f77b4', points: steps.map((s) => [s.step, s.loss] as const) },
        { name: 'val loss', color: '#d62728', markers: true, points: evals.map((e) => [e.step, e.valLoss] as const) },
      ],
      { xLabel: 'step', yLabel: 'loss (nats/token)' },
    );
    area.html(`<div style="font-family:monospace;font-size:12px;">${escapeHtml(status())}</div>${svg}`);
  };

  return {
    steps,
    evals,
    onStep(m) {
      // Copy only what is drawn: the trainer's objects carry more than a long run should keep.
      steps.push({ step: m.step, tokens: m.tokens, loss: m.loss, lr: m.lr, elapsedSec: m.elapsedSec });
      draw(false);
    },
    onEval(m) {
      evals.push({ step: m.step, valLoss: m.valLoss });
      // Evaluations are rare and worth seeing at once.
      draw(true);
    },
    done() {
      draw(true);
    },
  };
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
