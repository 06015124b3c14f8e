// Progress display on stderr (stdout stays free for --json): on a TTY one line redrawn with \r — a bar, loss,
// tokens/s and ETA; elsewhere (CI logs, pipes) a plain line every few steps.
import type { ProgressMode, StepMetrics, ValMetrics } from './types';

export interface Progress {
  step(m: StepMetrics): void;
  eval(m: ValMetrics): void;
  note(text: string): void;
  done(): void;
}

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Throughput smoothed over recent steps, so the ETA does not jump with every step's noise. */
class RateMeter {
  private rate = 0;
  add(tokensPerSec: number): number {
    this.rate = this.rate === 0 ? tokensPerSec : 0.9 * this.rate + 0.1 * tokensPerSec;
    return this.rate;
  }
}

const NONE: Progress = { step() {}, eval() {}, note() {}, done() {} };

export function createProgress(
  mode: ProgressMode,
  totalSteps: number,
  tokensPerStep: number,
  logEvery: number,
  stream: ProgressStream = process.stderr,
): Progress {
  if (mode === 'none') return NONE;
  const bar = mode === 'bar' || (mode === 'auto' && stream.isTTY === true);
  const meter = new RateMeter();
  let lastLine = 0;
  let drawn = false;
  const status = (m: StepMetrics) => {
    const rate = meter.add(m.tokensPerSec);
    const eta = ((totalSteps - m.step) * tokensPerStep) / rate;
    // Most useful first: a narrow terminal cuts the end of the line.
    return `step ${m.step}/${totalSteps}  loss ${m.loss.toFixed(4)}  ${Math.round(rate)} tok/s  ETA ${formatDuration(eta)}  lr ${m.lr.toExponential(2)}`;
  };
  const clear = () => {
    if (drawn) stream.write('\n');
    drawn = false;
  };
  return {
    step(m) {
      const text = status(m);
      if (bar) {
        const width = 20;
        const filled = Math.round((width * m.step) / totalSteps);
        const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
        const cols = stream.columns ?? 120;
        stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length + 2))}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      if (m.step === 1 || m.step === totalSteps || m.step % logEvery === 0 || now - lastLine > 30_000) {
        lastLine = now;
        stream.write(`${text}\n`);
      }
    },
    eval(v) {
      clear();
      stream.write(`step ${v.step}: validation loss ${v.valLoss.toFixed(4)}, perplexity ${v.valPerplexity.toFixed(2)} over ${v.valTokens} tokens\n`);
    },
    note(text) {
      clear();
      stream.write(`${text}\n`);
    },
    done() {
      clear();
    },
  };
}
