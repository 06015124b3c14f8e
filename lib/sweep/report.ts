// Tables at the end of a sweep, from whatever has finished: one row per run, and one row per point of the sweep
// with its seeds aggregated (lib/experiments/report.ts resultRows, as the notebooks make theirs), plus a
// training-loss figure. Results are read from run folders under one or more roots, so folders gathered from
// machines without a shared filesystem report together.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESULT_FILE } from '../experiments/runs';
import type { RunResult } from '../experiments/runs';
import { lossCurves, resultRows } from '../experiments/report';
import type { ResultRow } from '../experiments/report';
import { lineChartSvg } from '../notebook/svg-chart';
import type { Series } from '../notebook/svg-chart';
import { readJsonFile } from '../train/run-dir';
import type { PlannedRun, SweepPlan } from './plan';
import { sweepStatus } from './status';
import type { RunState } from './status';

export interface SweepRunRow {
  index: number;
  id: string;
  state: RunState;
  /** Axis values, one column per axis. */
  [axis: string]: unknown;
}

export type SweepGroupRow = Record<string, unknown> & ResultRow;

export interface SweepReport {
  runs: SweepRunRow[];
  /** One row per point of the sweep without its seed axis, seeds aggregated; only points with a finished run. */
  groups: SweepGroupRow[];
  /** The finished runs of each point, for curves. */
  points: SweepGroup[];
  results: RunResult[];
}

export interface SweepGroup {
  /** Axis values without the seed. */
  values: Record<string, unknown>;
  preset: string;
  results: RunResult[];
}

/** The finished result of a run under the first root that has one (its runDir set to where it was found). */
function resultOf(run: PlannedRun, roots: string[]): RunResult | undefined {
  for (const root of roots) {
    const dir = path.join(root, run.id);
    const r = readJsonFile<RunResult>(path.join(dir, RESULT_FILE));
    if (r) return { ...r, runDir: dir };
  }
  return undefined;
}

const cell = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : v);

export function sweepReport(plan: SweepPlan, roots: string[] = [plan.runsDir]): SweepReport {
  const statuses = sweepStatus(plan, roots);
  const found = plan.runs.map((run) => resultOf(run, roots));
  const results = found.filter((r): r is RunResult => r !== undefined);
  const runs: SweepRunRow[] = plan.runs.map((run, i) => {
    const r = found[i];
    return {
      index: run.index,
      id: run.id,
      state: statuses[i].state,
      ...Object.fromEntries(plan.axes.map((a) => [a, cell(run.values[a])])),
      preset: run.spec.preset,
      seed: run.spec.seed,
      steps: r?.steps ?? statuses[i].step ?? null,
      totalSteps: run.totalSteps,
      finalTrainLoss: r?.finalTrainLoss ?? null,
      valPerplexity: r?.valPerplexity ?? null,
      trainPerplexity: r?.trainPerplexity ?? null,
      tokensPerSec: r?.tokensPerSec.median ?? null,
      trainedOn: r ? `${r.backend} on ${r.device}` : null,
      runDir: r?.runDir ?? statuses[i].runDir,
    };
  });
  // A point of the sweep is every axis but the seed; its seeds are what resultRows aggregates.
  const pointAxes = plan.axes.filter((a) => a !== 'seed');
  const groups = new Map<string, SweepGroup>();
  plan.runs.forEach((run, i) => {
    const values = Object.fromEntries(pointAxes.map((a) => [a, cell(run.values[a])]));
    const key = JSON.stringify(values);
    const g = groups.get(key) ?? { values, results: [], preset: run.spec.preset };
    if (found[i]) g.results.push(found[i]!);
    groups.set(key, g);
  });
  const groupRows: SweepGroupRow[] = [];
  for (const g of groups.values()) {
    const [row] = resultRows(g.results, [g.preset]);
    if (row) groupRows.push({ ...g.values, ...row });
  }
  return { runs, groups: groupRows, points: [...groups.values()], results };
}

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Rows as CSV, columns in first-seen order. */
export function toCsv(rows: Record<string, unknown>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** Mean training loss (over seeds, smoothed) against tokens, one line per point of the sweep, as an SVG. */
export function lossFigureSvg(report: SweepReport): string {
  const series: Series[] = [];
  for (const p of report.points) {
    const label = Object.keys(p.values).length ? Object.entries(p.values).map(([a, v]) => `${a}=${v}`).join(' ') : p.preset;
    const [curve] = lossCurves(p.results, [p.preset]).train;
    if (curve) series.push({ name: label, color: PALETTE[series.length % PALETTE.length], points: curve.tokens.map((t, i) => [t, curve.mean[i]] as const) });
  }
  return lineChartSvg(series, { xLabel: 'training tokens', yLabel: 'train loss (nats/token)', width: 720, height: 320 });
}

/** Writes <out>/sweep-<name>-runs.csv, -results.csv and -train-loss.svg; returns the files. */
export function writeSweepReport(plan: SweepPlan, outDir: string, roots: string[] = [plan.runsDir]): { report: SweepReport; files: string[] } {
  const report = sweepReport(plan, roots);
  fs.mkdirSync(outDir, { recursive: true });
  const stem = path.join(outDir, `sweep-${plan.name}`);
  const files = [`${stem}-runs.csv`, `${stem}-results.csv`, `${stem}-train-loss.svg`];
  fs.writeFileSync(files[0], toCsv(report.runs));
  fs.writeFileSync(files[1], toCsv(report.groups));
  fs.writeFileSync(files[2], lossFigureSvg(report));
  return { report, files };
}
