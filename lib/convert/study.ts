// Notebook 09's measurements over the conversion: perplexity right after converting a trained MHA run at each KV
// rank, and along a short fine-tune of one converted model (compared by the notebook with an MLA trained from
// scratch on the same number of tokens, an ordinary run of the experiment runner).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kvCacheBytes } from '../costs/kv-cache';
import { paramCount } from '../costs/params';
import { defaultCacheMode } from '../costs/cache-modes';
import type { TrainingDataset } from '../data/packed';
import { perplexity } from '../eval/perplexity';
import type { RunResult } from '../experiments/runs';
import { GPT } from '../model/gpt';
import { loadModel } from '../model/load';
import { findLatestCheckpoint, MODEL_FILE } from '../train/checkpoints';
import { trainDataFromDataset } from '../train/data';
import { readMetrics } from '../train/run-dir';
import { train } from '../train/trainer';
import type { ValMetrics } from '../train/types';
import { convertModel } from './convert-model';
import type { ConvertOptions, ConvertReport } from './mha-to-mla';

/** The model file of a finished run's last checkpoint. */
export function runModelFile(result: Pick<RunResult, 'runDir'>): string {
  const ref = findLatestCheckpoint(result.runDir);
  if (!ref) throw new RangeError(`run ${result.runDir} has no checkpoint; train it first (ensureRun)`);
  return path.join(ref.dir, MODEL_FILE);
}

export interface EvalWindows {
  seqLen: number;
  batchSize: number;
  /** Validation tokens scored (from the start of the split). */
  maxTokens: number;
}

export interface ConversionRow {
  kvRank: number;
  qRank: number;
  ropeDim: number;
  exact: boolean;
  params: number;
  kvBytesPerToken: number;
  valPerplexity: number;
  /** Means over layers of the report's fields. */
  kvEnergyKept: number;
  ropeKeptShare: number | null;
  sharedKeyResidual: number | null;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function row(model: GPT, report: ConvertReport, ppl: number): ConversionRow {
  const c = model.config;
  const rope = report.ropeDim > 0;
  return {
    kvRank: report.kvRank,
    qRank: report.qRank,
    ropeDim: report.ropeDim,
    exact: report.exact,
    params: paramCount(c).total,
    kvBytesPerToken: kvCacheBytes(c, defaultCacheMode(c), 'fp32').perToken,
    valPerplexity: ppl,
    kvEnergyKept: mean(report.layers.map((l) => l.kvEnergyKept)),
    ropeKeptShare: rope ? mean(report.layers.map((l) => l.ropeKeptShare)) : null,
    sharedKeyResidual: rope ? mean(report.layers.map((l) => l.sharedKeyResidual)) : null,
  };
}

/** Converts a trained MHA model at each KV rank and scores each result on the validation split. */
export async function conversionSweep(source: GPT, val: ArrayLike<number>, kvRanks: number[], w: EvalWindows, opts: Omit<ConvertOptions, 'kvRank'> = {}): Promise<ConversionRow[]> {
  const rows: ConversionRow[] = [];
  for (const kvRank of kvRanks) {
    const { model, report } = await convertModel(source, { ...opts, kvRank });
    try {
      rows.push(row(model, report, (await perplexity(model, val, w)).perplexity));
    } finally {
      model.dispose();
    }
  }
  return rows;
}

export interface FineTuneOptions {
  tokens: number;
  batchSize: number;
  seqLen: number;
  lr?: number;
  evalEvery: number;
  evalTokens: number;
  seed: number;
  /** The fine-tune's run folder; a finished one (its done.json) is read back instead of retrained. */
  outDir: string;
}

const DONE_FILE = 'done.json';

/**
 * Fine-tunes a converted model on the training split (the trainer's own run folder, validation lines every
 * evalEvery steps) and returns the validation curve, the converted model's perplexity at 0 tokens first.
 */
export async function fineTuneConverted(model: GPT, ds: TrainingDataset, o: FineTuneOptions): Promise<ValMetrics[]> {
  const done = path.join(o.outDir, DONE_FILE);
  const before = await perplexity(model, ds.splits.val, { seqLen: o.seqLen, batchSize: o.batchSize, maxTokens: o.evalTokens });
  const start: ValMetrics = { kind: 'val', step: 0, tokens: 0, valLoss: before.loss, valPerplexity: before.perplexity, valTokens: before.tokens, time: new Date().toISOString() };
  if (!fs.existsSync(done)) {
    fs.rmSync(o.outDir, { recursive: true, force: true }); // a half-finished fine-tune starts over: it is short
    const data = trainDataFromDataset(ds, { batchSize: o.batchSize, seqLen: o.seqLen, seed: o.seed });
    const { outDir, lr, ...rest } = o;
    // An absent lr must stay absent (the trainer's default), not become an explicit undefined.
    await train(model, data, { ...rest, accumSteps: 1, outDir, resume: false, progress: 'none', checkpointEvery: 0, ...(lr === undefined ? {} : { lr }) });
    fs.writeFileSync(done, JSON.stringify({ finishedAt: new Date().toISOString() }) + '\n');
  }
  const vals = readMetrics(o.outDir).filter((m): m is ValMetrics => m.kind === 'val');
  return [start, ...vals];
}

/** A finished run's model, loaded from its last checkpoint (the caller disposes it). */
export function loadRunModel(result: Pick<RunResult, 'runDir'>): GPT {
  return loadModel(runModelFile(result)).model;
}
