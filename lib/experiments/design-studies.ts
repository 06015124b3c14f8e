// The studies of notebooks 09 (MHA → MLA conversion and fine-tune) and 10 (latent-cache quantization) as data, like
// the inference studies (inference-runs.ts): what each computes at a scale is a pure spec, the numbers are written
// once where the source models were trained, and a notebook on any machine redraws from the files. Their sources
// are ordinary run folders, the design sweeps' plain presets at seed 0 (designSourceSpec), trained or reused
// through the runner; a study needs their checkpoints, which stay on the machine that trained them, so at the gpu
// scale `mla experiment run --experiment latentQuant,convert` runs on the GPU machine in the session that trains
// (or has kept) those runs, and only the study folder comes back:
//   <runs>/<study>-<size>-<hash10>/spec.json     what defines the study: its spec and its sources' folder names
//   <runs>/<study>-<size>-<hash10>/rows.jsonl    one line per unit of work (one cache format of one model, one
//                                                conversion at one rank, one fine-tune), appended as measured
//   <runs>/<study>-<size>-<hash10>/fine-tune-*/  the fine-tunes' run folders (config, metrics; checkpoint removed)
//   <runs>/<study>-<size>-<hash10>/result.json   written last: the study is finished
// The hash covers the spec and the sources' folder names (so their corpus hash and run format), not the machine:
// the folder a GPU wrote is the one a CPU notebook looks for. A study stopped part-way (budget, interrupt)
// resumes at its first unit without a line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { describeBackend, withDeviceErrorScope } from '../backend';
import { resolveConfig } from '../config/presets';
import { ConfigError } from '../config/validate';
import { type CacheQuant, quantizedKvCacheBytes } from '../costs/kv-cache';
import type { TrainingDataset } from '../data/packed';
import { defaultDataRoot } from '../data/prepare';
import { perplexity } from '../eval/perplexity';
import { convertModel } from '../convert/convert-model';
import { conversionSweep, type EvalWindows, fineTuneConverted, type FineTuneOptions, loadRunModel } from '../convert/study';
import { decodePerplexity } from '../generate/decode-perplexity';
import type { GPT } from '../model/gpt';
import { designSourceSpec, designSpecs, designTrain, rankSweep, ropeSplitSweep } from '../notebook/design-space';
import type { Scale, ScaleName } from '../notebook/scale';
import { findLatestCheckpoint } from '../train/checkpoints';
import { CHECKPOINT_DIR, readJsonFile, readJsonLines, writeJsonFile } from '../train/run-dir';
import type { ValMetrics } from '../train/types';
import { type DesignStudyName, experimentSpecs, modelOf, runSpecs, runStatuses, type RunStatus } from './runner';
import { canonical, datasetFor, refuseNullDeviceResults, RESULT_FILE, type RunResult, runMetrics, type RunSpec } from './runs';

/** Bumped when what a study computes changes, so old folders are not read as new ones. */
export const DESIGN_STUDY_FORMAT = 1;

/** A study that cannot go on here, with the fix in its one-line message. */
export class StudyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StudyError';
  }
}

/** Notebook 10: MLA's latent cache in each format, measured through the cached absorbed decode. */
export interface LatentQuantSpec {
  study: 'latentQuant';
  scale: ScaleName;
  /** The MLA models measured: the scale's size with RoPE and with learned positions, seed 0, design budget. */
  sources: RunSpec[];
  mode: 'absorbed';
  /** Validation windows of seqLen tokens (the runs' evalTokens), decoded side by side one token at a time. */
  seqLen: number;
  windows: number;
  /** fp32 first (format 'none'), then int8, int4 and fp8 at each group size of 16, 32, 64 up to kvRank. */
  formats: CacheQuant[];
}

/** The fine-tunes of notebook 09: the design budget's tokens, batch and windows, MLA's learning rate. */
export interface FineTuneBudget extends Omit<FineTuneOptions, 'outDir'> {
  /** The KV rank of the converted model that is fine-tuned (d/4). */
  kvRank: number;
}

/** Notebook 09: trained MHA models converted to MLA at several ranks, and one conversion fine-tuned. */
export interface ConvertSpec {
  study: 'convert';
  scale: ScaleName;
  /** The MHA sources, learned positions and RoPE, seed 0, design budget. */
  sources: { norope: RunSpec; rope: RunSpec };
  /** MLA with learned positions trained from scratch on the same budget: the fine-tune's reference curve. */
  scratch: RunSpec;
  /** d/8, d/4, d/2, ⌊2d/3⌋ and d. */
  kvRanks: number[];
  /** What every conversion is scored on: the runs' own validation windows. */
  windows: EvalWindows;
  fineTune: FineTuneBudget;
}

export type DesignStudySpec = LatentQuantSpec | ConvertSpec;

/** One row of notebook 10's table 'latent-quantization' (unrounded). */
export interface LatentQuantRow {
  model: string;
  format: 'fp32' | 'int8' | 'int4' | 'fp8';
  group_size: number | null;
  val_ppl: number;
  delta_vs_fp32_cache: number;
  forward_val_ppl: number;
  tokens: number;
  bytes_per_token_per_layer: number;
  bytes_per_token: number;
  scale_bytes: number;
  rope_key_bytes: number;
}

/** One row of notebook 09's table 'mha-to-mla-conversion' (unrounded). */
export interface ConversionStudyRow {
  source: 'norope' | 'rope';
  kv_rank: number;
  rope_dims: number;
  exact: boolean;
  val_ppl: number;
  source_val_ppl: number;
  kv_energy_kept: number;
  rope_importance_kept: number | null;
  shared_key_residual: number | null;
  kv_bytes_per_token: number;
  params: number;
}

/** One row of notebook 09's table 'mha-to-mla-fine-tune': a point of one model's validation curve. */
export interface FineTuneRow {
  model: string;
  tokens: number;
  val_ppl: number;
}

/** A source run of a study as its result records it. */
export interface StudySource {
  role: string;
  preset: string;
  seed: number;
  /** The run folder's name, in the same runs directory as the study. */
  folder: string;
  valPerplexity: number;
  backend: string;
  device: string;
}

interface StudyResultBase<S> {
  scale: ScaleName;
  spec: S;
  sources: StudySource[];
  /** Where it was computed. */
  backend: string;
  device: string;
  /** Seconds of the units' work, summed over the calls that computed them (source training not included). */
  seconds: number;
  dir: string;
  finishedAt: string;
}

export interface LatentQuantResult extends StudyResultBase<LatentQuantSpec> {
  study: 'latentQuant';
  rows: LatentQuantRow[];
}

export interface ConvertStudyResult extends StudyResultBase<ConvertSpec> {
  study: 'convert';
  conversion: ConversionStudyRow[];
  /** The converted model's fine-tune, the unconverted control's, and MLA from scratch, in that order. */
  fineTune: FineTuneRow[];
}

export interface DesignStudyResults {
  latentQuant: LatentQuantResult;
  convert: ConvertStudyResult;
}

// The size family of a scale's study models: 'tiny' (smoke), 'small', '35m' (gpu, paper).
const sizeOf = (s: Scale): string => s.noRope.presets[0].split('-')[0];

// The budget the sources train with (designTrain's), for the windows and the fine-tune.
const budgetOf = (s: Scale) => s.design?.train ?? s.rope.train;

/** Notebook 10's study at a scale. Pure. */
export function latentQuantSpec(s: Scale): LatentQuantSpec {
  const size = sizeOf(s);
  const budget = budgetOf(s);
  const kvRank = resolveConfig(`${size}-mla-rope`).kvRank;
  const groupSizes = [16, 32, 64].filter((g) => g <= kvRank);
  const formats: CacheQuant[] = [{ format: 'none', groupSize: 1 }, ...(['int8', 'int4', 'fp8'] as const).flatMap((format) => groupSizes.map((groupSize) => ({ format, groupSize })))];
  return {
    study: 'latentQuant',
    scale: s.name,
    sources: [designSourceSpec(s, `${size}-mla-rope`, 0), designSourceSpec(s, `${size}-mla-norope`, 0)],
    mode: 'absorbed',
    seqLen: budget.seqLen,
    windows: Math.max(1, Math.floor(budget.evalTokens / budget.seqLen)),
    formats,
  };
}

/** Notebook 09's study at a scale. Pure. */
export function convertSpec(s: Scale): ConvertSpec {
  const size = sizeOf(s);
  const budget = budgetOf(s);
  const d = resolveConfig(`${size}-mha-norope`).dModel;
  const scratch = designSourceSpec(s, `${size}-mla-norope`, 0);
  const lr = designTrain(s, `${size}-mla-norope`).lr;
  return {
    study: 'convert',
    scale: s.name,
    sources: { norope: designSourceSpec(s, `${size}-mha-norope`, 0), rope: designSourceSpec(s, `${size}-mha-rope`, 0) },
    scratch,
    kvRanks: [d / 8, d / 4, d / 2, Math.floor((2 * d) / 3), d],
    windows: { seqLen: budget.seqLen, batchSize: budget.batchSize, maxTokens: budget.evalTokens },
    // Both fine-tunes at the scratch MLA's rate, so that only the conversion differs from the control.
    fineTune: { kvRank: d / 4, tokens: budget.tokens, batchSize: budget.batchSize, seqLen: budget.seqLen, ...(lr === undefined ? {} : { lr }), evalEvery: budget.evalEvery || 8, evalTokens: budget.evalTokens, seed: 0 },
  };
}

export function designStudySpec(s: Scale, name: DesignStudyName): DesignStudySpec {
  if (name === 'latentQuant') return latentQuantSpec(s);
  if (name === 'convert') return convertSpec(s);
  throw new ConfigError('study', name, 'allowed: latentQuant, convert');
}

/** The source runs of a study, each with its role and whether the study loads its weights (else only its metrics). */
export function studySources(spec: DesignStudySpec): { role: string; spec: RunSpec; loads: boolean }[] {
  if (spec.study === 'latentQuant') return spec.sources.map((sp) => ({ role: sp.preset.endsWith('-norope') ? 'norope' : 'rope', spec: sp, loads: true }));
  return [
    { role: 'norope', spec: spec.sources.norope, loads: true },
    { role: 'rope', spec: spec.sources.rope, loads: true },
    // The scratch MLA's logged validation curve is all the study reads of it.
    { role: 'scratch', spec: spec.scratch, loads: false },
  ];
}

const sizeOfSpec = (spec: DesignStudySpec) => studySources(spec)[0].spec.preset.split('-')[0];

/** The study's folder: keyed by its spec and its sources' folder names (which hold their corpus hash). */
export function designStudyDir(runsDir: string, spec: DesignStudySpec, sourceFolders: string[]): string {
  const hash = createHash('sha256').update(canonical({ spec, sources: sourceFolders, format: DESIGN_STUDY_FORMAT })).digest('hex').slice(0, 10);
  return path.join(runsDir, `${spec.study}-${sizeOfSpec(spec)}-${hash}`);
}

// Two specs are one run when runDirFor would give them one folder (same data spec, so the same corpus).
const runKey = (sp: RunSpec) => canonical({ config: resolveConfig(sp.preset, sp.overrides ?? {}), train: sp.train, seed: sp.seed, data: sp.data, trainEvalTokens: sp.trainEvalTokens ?? 0 });

/**
 * The `mla experiment run` that trains exactly this run again (--force moves the old folder aside): the study
 * experiment that has this run (at gpu the scaling run's 35M models), else the design sweep point that is this run,
 * else moving the folder aside, after which the study trains it.
 */
export function retrainCommand(s: Scale, spec: RunSpec, dir: string, study: DesignStudyName): string {
  for (const name of ['scaling', 'noRope', 'rope'] as const) {
    let specs: RunSpec[];
    try {
      specs = experimentSpecs(s, name, { presets: [spec.preset], seeds: [spec.seed] });
    } catch {
      continue; // not a preset of this experiment
    }
    if (specs.some((sp) => runKey(sp) === runKey(spec))) return `mla experiment run --experiment ${name} --scale ${s.name} --presets ${spec.preset} --seeds ${spec.seed} --force`;
  }
  const sweeps = [['rankSweep', rankSweep], ['ropeSplit', ropeSplitSweep]] as const;
  for (const [name, make] of sweeps) {
    let sweep;
    try {
      sweep = make(s);
    } catch {
      continue; // no design sweeps at this scale (paper)
    }
    for (const pt of sweep.points) {
      const [sp] = designSpecs(sweep, { points: [pt.id], seeds: [spec.seed] });
      if (sp && runKey(sp) === runKey(spec)) return `mla experiment run --experiment ${name} --scale ${s.name} --presets ${pt.id} --seeds ${spec.seed} --force`;
    }
  }
  return `mv ${dir} ${dir}.no-checkpoint && mla experiment run --experiment ${study} --scale ${s.name}`;
}

export interface SourceStatus extends RunStatus {
  role: string;
  /** Whether the study loads this run's weights (else it reads only its metrics). */
  loads: boolean;
  /** Whether the run folder holds a checkpoint to load (a folder copied from elsewhere has none). */
  checkpoint: boolean;
}

export interface DesignStudyStatus<R> {
  study: DesignStudyName;
  spec: DesignStudySpec;
  dir: string;
  /** The finished study, when its folder has result.json. */
  result?: R;
  /** Units of work with a line in rows.jsonl, and all of them. */
  units: { done: number; total: number };
  sources: SourceStatus[];
}

export interface DesignStudyWhere {
  runsDir?: string;
  /** Data root (default $MLA_DATA_ROOT, else data/). */
  root?: string;
  /** A dataset already loaded (e.g. a pack carried to the GPU machine); else it is prepared from the data spec. */
  dataset?: TrainingDataset;
}

interface UnitLine {
  unit: string;
  /** The source runs it was computed from (weightsOf): a source trained again makes the line stale. */
  weights: string;
  seconds: number;
  rows: unknown[];
}

// Which trained weights a unit was computed from: each source's folder and when it finished.
const weightsOf = (sources: RunResult[]) => sources.map((r) => `${path.basename(r.runDir)}@${r.finishedAt}`).join(' ');

const ROWS_FILE = 'rows.jsonl';

/** Every unit of work of a study, in the order they are done (and their rows listed). */
function unitsOf(spec: DesignStudySpec): string[] {
  if (spec.study === 'latentQuant') return spec.sources.flatMap((src) => spec.formats.map((q) => latentUnit(src.preset, q)));
  return [
    ...(['norope', 'rope'] as const).flatMap((kind) => spec.kvRanks.map((r) => `conversion:${kind}:${r}`)),
    `fine-tune:to-mla-kv${spec.fineTune.kvRank}`,
    'fine-tune:mha-continued',
  ];
}

const latentUnit = (preset: string, q: CacheQuant) => `${preset}:${q.format === 'none' ? 'fp32' : `${q.format}-g${q.groupSize}`}`;

/**
 * The lines of rows.jsonl of this spec's units computed from these weights (a partial last line, a unit the spec
 * lacks, or one computed from a source since trained again, is dropped).
 */
function readUnits(dir: string, spec: DesignStudySpec, weights: string): Map<string, UnitLine> {
  const want = new Set(unitsOf(spec));
  return new Map(readJsonLines<UnitLine>(path.join(dir, ROWS_FILE)).filter((l) => want.has(l.unit) && l.weights === weights).map((l) => [l.unit, l]));
}

/** Where a study of the scale stands here: its folder, whether it is finished, and its sources' states. Trains nothing. */
export async function designStudyStatus<K extends DesignStudyName>(s: Scale, name: K, o: DesignStudyWhere = {}): Promise<DesignStudyStatus<DesignStudyResults[K]>> {
  const root = o.root ?? defaultDataRoot();
  const runsDir = o.runsDir ?? path.join(root, 'runs');
  const spec = designStudySpec(s, name);
  const roles = studySources(spec);
  const statuses = await runStatuses(
    roles.map((r) => r.spec),
    { runsDir, root, dataset: o.dataset },
  );
  const sources = statuses.map((st, i) => ({ ...st, role: roles[i].role, loads: roles[i].loads, checkpoint: findLatestCheckpoint(st.dir) !== undefined }));
  const dir = designStudyDir(runsDir, spec, sources.map((x) => path.basename(x.dir)));
  const result = readJsonFile<DesignStudyResults[K]>(path.join(dir, RESULT_FILE));
  const total = unitsOf(spec).length;
  const finished = sources.every((x) => x.result);
  const done = result ? total : finished ? readUnits(dir, spec, weightsOf(sources.map((x) => x.result!))).size : 0;
  return { study: name, spec, dir, ...(result ? { result: { ...result, dir } } : {}), units: { done, total }, sources };
}

export interface DesignStudyOptions extends DesignStudyWhere {
  /** Compute the study again (its old folder is moved aside); the sources are reused. */
  force?: boolean;
  /** Seconds after which the work stops between units (a source in training stops with a checkpoint). */
  budgetS?: number;
  /** Checked between units and before every training step (e.g. an interrupt). */
  shouldStop?: () => boolean;
  log?: (line: string) => void;
}

export interface DesignStudyReport<R> {
  study: DesignStudyName;
  scale: ScaleName;
  /** The finished study; null when the budget or a stop ended the call first (the next call resumes). */
  result: R | null;
  dir: string;
  units: { done: number; total: number };
  /** Sources not finished when the call ended. */
  pending: RunSpec[];
  stopMessage?: string;
  seconds: number;
}

/**
 * Computes the study `name` of the scale, or reads it back when its folder is finished: trains or reuses its
 * sources through the runner first. A source that is finished but has no checkpoint here (a folder committed
 * from another machine) is a StudyError naming the folder and the command that trains it again: a study never
 * retrains over a finished run by itself.
 */
export async function runDesignStudy<K extends DesignStudyName>(s: Scale, name: K, o: DesignStudyOptions = {}): Promise<DesignStudyReport<DesignStudyResults[K]>> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const root = o.root ?? defaultDataRoot();
  const runsDir = o.runsDir ?? path.join(root, 'runs');
  const deadline = o.budgetS === undefined ? Infinity : t0 + o.budgetS * 1000;
  const stop = () => Date.now() > deadline || (o.shouldStop?.() ?? false);
  const where = { runsDir, root, dataset: o.dataset };
  const status = await designStudyStatus(s, name, where);
  const { spec, dir } = status;
  const report = (result: DesignStudyResults[K] | null, done: number, pending: RunSpec[] = [], stopMessage?: string): DesignStudyReport<DesignStudyResults[K]> => ({
    study: name,
    scale: s.name,
    result,
    dir,
    units: { done, total: status.units.total },
    pending,
    ...(stopMessage ? { stopMessage } : {}),
    seconds: (Date.now() - t0) / 1000,
  });
  if (status.result && !o.force) {
    log(`${name}: reusing ${dir} (finished ${status.result.finishedAt} on ${status.result.backend}, ${status.result.device})`);
    return report(status.result, status.units.total);
  }
  for (const src of status.sources) {
    if (src.loads && src.state === 'done' && !src.checkpoint) {
      throw new StudyError(
        `${name}: source run ${src.dir} (${modelOf(src.spec)} seed ${src.spec.seed}) is finished but has no checkpoint on this machine (its folder was copied without one); ` +
          `train it again on this machine: ${retrainCommand(s, src.spec, src.dir, name)}; then rerun: mla experiment run --experiment ${name} --scale ${s.name}`,
      );
    }
  }
  const trained = await runSpecs(name, studySources(spec).map((r) => r.spec), { ...where, shouldStop: stop, log });
  // The study is computed from all of its sources: one that diverged leaves nothing to compute it from.
  if (trained.diverged.length) {
    const d = trained.diverged[0];
    throw new StudyError(`${name}: source run ${d.runDir} (${modelOf(d.spec)} seed ${d.spec.seed}) diverged at step ${d.step}, so the study has nothing to compute from: ${d.message}`);
  }
  if (trained.pending.length) return report(null, status.units.done, trained.pending, trained.stopMessage);
  const sources = trained.results;

  refuseNullDeviceResults(dir, name);
  if (o.force && fs.existsSync(dir)) fs.renameSync(dir, `${dir}.replaced-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  writeJsonFile(path.join(dir, 'spec.json'), { spec, sources: sources.map((r) => path.basename(r.runDir)), format: DESIGN_STUDY_FORMAT });
  // Keep only the whole lines of this spec's units from these weights: a unit cut part-way is computed again.
  const weights = weightsOf(sources);
  const lines = readUnits(dir, spec, weights);
  fs.writeFileSync(path.join(dir, ROWS_FILE), [...lines.values()].map((l) => JSON.stringify(l) + '\n').join(''));
  const config = resolveConfig(sources[0].spec.preset, sources[0].spec.overrides ?? {});
  const ds = o.dataset ?? (await datasetFor(sources[0].spec.data, config.vocabSize, root, log));
  const { backend, device } = describeBackend();
  const work: StudyWork = {
    lines,
    ds,
    dir,
    stop,
    log: (line) => log(`${name}: ${line}`),
    add: (l) => {
      const line = { ...l, weights: weights };
      lines.set(l.unit, line);
      fs.appendFileSync(path.join(dir, ROWS_FILE), JSON.stringify(line) + '\n');
    },
  };
  const finished = spec.study === 'latentQuant' ? await latentQuantUnits(spec, sources, work) : await convertUnits(spec, sources, work);
  if (!finished) return report(null, lines.size, [], `${name} stopped after ${lines.size} of ${status.units.total} units; rerun to resume`);

  const base = {
    scale: s.name,
    sources: sources.map((r, i) => ({ role: studySources(spec)[i].role, preset: r.spec.preset, seed: r.spec.seed, folder: path.basename(r.runDir), valPerplexity: r.valPerplexity, backend: r.backend, device: r.device })),
    backend,
    device,
    seconds: [...lines.values()].reduce((a, l) => a + l.seconds, 0),
    dir,
    finishedAt: new Date().toISOString(),
  };
  const rowsOf = <T>(units: string[]) => units.flatMap((u) => lines.get(u)!.rows as T[]);
  const units = unitsOf(spec);
  const result =
    spec.study === 'latentQuant'
      ? ({ study: 'latentQuant', spec, ...base, rows: rowsOf<LatentQuantRow>(units) } satisfies LatentQuantResult)
      : ({
          study: 'convert',
          spec,
          ...base,
          conversion: rowsOf<ConversionStudyRow>(units.filter((u) => u.startsWith('conversion:'))),
          fineTune: [...rowsOf<FineTuneRow>(units.filter((u) => u.startsWith('fine-tune:'))), ...scratchCurve(sources[2])],
        } satisfies ConvertStudyResult);
  // Written last: its presence is what marks the study finished.
  writeJsonFile(path.join(dir, RESULT_FILE), result);
  log(`${name}: finished → ${dir}`);
  return report(result as DesignStudyResults[K], units.length);
}

interface StudyWork {
  lines: Map<string, UnitLine>;
  ds: TrainingDataset;
  dir: string;
  stop: () => boolean;
  log: (line: string) => void;
  add: (line: Omit<UnitLine, 'weights'>) => void;
}

/** Runs `fn` as one unit: timed, inside a device error scope, its rows appended. */
async function unit(w: StudyWork, name: string, fn: () => Promise<unknown[]>): Promise<void> {
  const t0 = Date.now();
  const rows = await withDeviceErrorScope(fn, name);
  const seconds = (Date.now() - t0) / 1000;
  w.add({ unit: name, seconds, rows });
  w.log(`${name} (${seconds.toFixed(1)} s)`);
}

/** Notebook 10's rows: per model, the forward perplexity, then each format through the absorbed cache. False when stopped. */
async function latentQuantUnits(spec: LatentQuantSpec, sources: RunResult[], w: StudyWork): Promise<boolean> {
  const { seqLen, windows, mode } = spec;
  const val = w.ds.splits.val;
  for (const run of sources) {
    const todo = spec.formats.filter((q) => !w.lines.has(latentUnit(run.spec.preset, q)));
    if (!todo.length) continue;
    if (w.stop()) return false;
    const model = loadRunModel(run);
    try {
      const forward = await withDeviceErrorScope(() => perplexity(model, val, { seqLen: seqLen, batchSize: windows, maxTokens: windows * seqLen }), `${run.spec.preset}: forward`);
      const fp32Of = () => (w.lines.get(latentUnit(run.spec.preset, spec.formats[0]))?.rows[0] as LatentQuantRow | undefined)?.val_ppl ?? NaN;
      for (const quant of todo) {
        if (w.stop()) return false;
        await unit(w, latentUnit(run.spec.preset, quant), async () => {
          const r = await decodePerplexity(model, val, { seqLen: seqLen, windows: windows, mode: mode, quant: quant });
          // fp32 is the first format: its line exists before any other format's delta is taken.
          const fp32 = quant.format === 'none' ? r.perplexity : fp32Of();
          const bytes = quantizedKvCacheBytes(model.config, mode, quant);
          const row: LatentQuantRow = {
            model: run.spec.preset,
            format: quant.format === 'none' ? 'fp32' : quant.format,
            group_size: quant.format === 'none' ? null : quant.groupSize,
            val_ppl: r.perplexity,
            delta_vs_fp32_cache: r.perplexity - fp32,
            forward_val_ppl: forward.perplexity,
            tokens: r.tokens,
            bytes_per_token_per_layer: bytes.perTokenPerLayer,
            bytes_per_token: bytes.perToken,
            scale_bytes: bytes.scales,
            rope_key_bytes: bytes.ropeKey,
          };
          return [row];
        });
      }
    } finally {
      model.dispose();
    }
  }
  return true;
}

const FT_CONVERTED = (kvRank: number) => `converted (d_c=${kvRank}) + fine-tune`;
const FT_CONTROL = 'MHA source trained on (no conversion)';
const FT_SCRATCH = 'MLA from scratch';

/** Notebook 09's rows: each MHA source converted at each rank, then the two fine-tunes. False when stopped. */
async function convertUnits(spec: ConvertSpec, sources: RunResult[], w: StudyWork): Promise<boolean> {
  const [norope, rope] = sources;
  for (const [kind, src] of [['norope', norope], ['rope', rope]] as const) {
    const todo = spec.kvRanks.filter((r) => !w.lines.has(`conversion:${kind}:${r}`));
    if (!todo.length) continue;
    if (w.stop()) return false;
    const model = loadRunModel(src);
    try {
      for (const kvRank of todo) {
        if (w.stop()) return false;
        await unit(w, `conversion:${kind}:${kvRank}`, async () => {
          const [r] = await conversionSweep(model, w.ds.splits.val, [kvRank], spec.windows);
          const row: ConversionStudyRow = {
            source: kind,
            kv_rank: r.kvRank,
            rope_dims: r.ropeDim,
            exact: r.exact,
            val_ppl: r.valPerplexity,
            source_val_ppl: src.valPerplexity,
            kv_energy_kept: r.kvEnergyKept,
            rope_importance_kept: r.ropeKeptShare,
            shared_key_residual: r.sharedKeyResidual,
            kv_bytes_per_token: r.kvBytesPerToken,
            params: r.params,
          };
          return [row];
        });
      }
    } finally {
      model.dispose();
    }
  }
  const { kvRank, ...options } = spec.fineTune;
  const tunes = [
    { unit: `fine-tune:to-mla-kv${kvRank}`, label: FT_CONVERTED(kvRank), folder: `fine-tune-to-mla-kv${kvRank}`, convert: true },
    // The control: the unconverted MHA trained on for the same tokens, so the conversion's cost is what differs.
    { unit: 'fine-tune:mha-continued', label: FT_CONTROL, folder: 'fine-tune-mha-continued', convert: false },
  ];
  for (const t of tunes) {
    if (w.lines.has(t.unit)) continue;
    if (w.stop()) return false;
    const outDir = path.join(w.dir, t.folder);
    // Without its line the folder is from other weights or was cut part-way: either way it starts over (it is short).
    fs.rmSync(outDir, { recursive: true, force: true });
    const source = loadRunModel(norope);
    try {
      await unit(w, t.unit, async () => {
        const model: GPT = t.convert ? (await convertModel(source, { kvRank: kvRank })).model : source;
        try {
          const points = await fineTuneConverted(model, w.ds, { ...options, outDir: outDir });
          return points.map((m) => ({ model: t.label, tokens: m.tokens, val_ppl: m.valPerplexity }) satisfies FineTuneRow);
        } finally {
          if (model !== source) model.dispose();
        }
      });
    } finally {
      source.dispose();
    }
    // The curve is in rows.jsonl and in the run's metrics: the weights are not needed, and a 35M model's checkpoint
    // with its optimizer state would be most of what the GPU machine sends back.
    fs.rmSync(path.join(outDir, CHECKPOINT_DIR), { recursive: true, force: true });
  }
  return true;
}

/** The scratch MLA run's logged validation curve. */
function scratchCurve(run: RunResult): FineTuneRow[] {
  return runMetrics(run)
    .filter((m): m is ValMetrics => m.kind === 'val')
    .map((m) => ({ model: FT_SCRATCH, tokens: m.tokens, val_ppl: m.valPerplexity }));
}

/** The finished study of the scale in `runsDir`, without training or computing anything; undefined when there is none. */
export async function findDesignStudy<K extends DesignStudyName>(s: Scale, name: K, o: DesignStudyWhere = {}): Promise<DesignStudyResults[K] | undefined> {
  return (await designStudyStatus(s, name, o)).result;
}
