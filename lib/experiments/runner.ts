// One way to train an experiment of a scale: what `mla experiment run`, the notebooks and the GPU machine all
// call. An experiment is a list of run specs (experimentSpecs, pure); each is trained through ensureRun, so a
// finished run is reused and an interrupted one resumes from its checkpoint. A time budget stops the current run
// with a checkpoint (the next call resumes it), which is how a run spans several 10-minute GPU commands. A run whose
// loss diverges is an outcome, not a failure of the list: it is recorded (diverged.json) and the next run starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttentionKind } from '../config/model-config';
import { resolveConfig } from '../config/presets';
import { ConfigError } from '../config/validate';
import type { TrainingDataset } from '../data/packed';
import { defaultDataRoot } from '../data/prepare';
import { DivergenceError, TrainingError } from '../train/errors';
import { resolveTrainOptions, totalSteps } from '../train/options';
import { CONFIG_FILE, readJsonFile } from '../train/run-dir';
import type { StepMetrics, TrainHooks } from '../train/types';
import type { ExperimentScale, Scale } from '../notebook/scale';
import { designSpecs, rankSweep, ropeSplitSweep } from '../notebook/design-space';
import { learningRateFor } from './learning-rate';
import { canonical, corpusHashFor, datasetFor, DIVERGED_FILE, type DivergedRun, ensureRun, RESULT_FILE, runDirFor, RunResult, RunSpec, supersededDivergence } from './runs';

/** The study's comparisons, the LR sweep, and the design-space sweeps of notebooks 07 (rankSweep) and 08 (ropeSplit). */
export type TrainingExperimentName = 'lrSweep' | 'noRope' | 'rope' | 'scaling' | 'studyLr' | DesignExperimentName;
export type DesignExperimentName = 'rankSweep' | 'ropeSplit';
/**
 * The studies of notebooks 10 (latentQuant: the latent cache quantized) and 09 (convert: MHA → MLA and a fine-tune),
 * computed from trained design runs (lib/experiments/design-studies.ts); like timing and decodeCost, not run lists.
 */
export type DesignStudyName = 'latentQuant' | 'convert';
export type ExperimentName = TrainingExperimentName | 'timing' | 'decodeCost' | DesignStudyName;
export const DESIGN_EXPERIMENTS: readonly DesignExperimentName[] = ['rankSweep', 'ropeSplit'];
export const TRAINING_EXPERIMENTS: readonly TrainingExperimentName[] = ['lrSweep', 'noRope', 'rope', 'scaling', 'studyLr', ...DESIGN_EXPERIMENTS];
export const DESIGN_STUDIES: readonly DesignStudyName[] = ['latentQuant', 'convert'];
export const EXPERIMENT_NAMES: readonly ExperimentName[] = [...TRAINING_EXPERIMENTS, 'timing', 'decodeCost', ...DESIGN_STUDIES];

/** Refuse a budget above this many passes over the training split: such a run measures memorisation. */
export const MAX_EPOCHS = 10;

export function checkExperimentName(name: string): ExperimentName {
  if (!(EXPERIMENT_NAMES as readonly string[]).includes(name)) throw new ConfigError('experiment', name, `allowed: ${EXPERIMENT_NAMES.join(', ')}`);
  return name as ExperimentName;
}

/** The training comparison `name` of the scale, as the study's tables list it (lrSweep: its presets). */
function experimentOf(s: Scale, name: Exclude<TrainingExperimentName, DesignExperimentName>): ExperimentScale {
  if (name === 'studyLr') {
    if (!s.studyLr) throw new ConfigError('experiment', name, `scale ${s.name} has no study-rate check; the gpu scale has one`);
    return { presets: s.studyLr.presets, train: s.studyLr.train, seeds: [s.studyLr.seed] };
  }
  if (name !== 'lrSweep') return s[name];
  if (!s.lrSweep) throw new ConfigError('experiment', name, `scale ${s.name} has no learning-rate sweep; the gpu scale has one`);
  return { presets: s.lrSweep.presets, train: s.lrSweep.train, seeds: [s.lrSweep.seed] };
}

export { learningRateFor };

export interface SpecOptions {
  /** Seeds to run (default: the experiment's, else the scale's). */
  seeds?: number[];
  /** Only these presets (default: all of the experiment's); of a design sweep, these point ids or presets. */
  presets?: string[];
}

/** Every run of the experiment, in the order of the study's table, seeds inner. Pure. */
export function experimentSpecs(s: Scale, name: TrainingExperimentName, o: SpecOptions = {}): RunSpec[] {
  if (name === 'rankSweep' || name === 'ropeSplit') return designSpecs(name === 'rankSweep' ? rankSweep(s) : ropeSplitSweep(s), { seeds: o.seeds, points: o.presets });
  const exp = experimentOf(s, name);
  const seeds = o.seeds ?? exp.seeds ?? s.seeds;
  for (const p of o.presets ?? []) {
    if (!exp.presets.includes(p)) throw new ConfigError('presets', p, `experiment ${name} at scale ${s.name} has: ${exp.presets.join(', ')}`);
  }
  for (const p of Object.keys(exp.presetTrain ?? {})) {
    if (!exp.presets.includes(p)) throw new ConfigError(`${name}.presetTrain`, p, `not a preset of experiment ${name} at scale ${s.name} (${exp.presets.join(', ')})`);
  }
  const presets = exp.presets.filter((p) => !o.presets || o.presets.includes(p));
  const specs: RunSpec[] = [];
  for (const preset of presets) {
    if (name === 'lrSweep' || name === 'studyLr') {
      for (const lr of (name === 'lrSweep' ? s.lrSweep! : s.studyLr!).lrs) specs.push({ preset, seed: seeds[0], data: s.data, train: { ...exp.train, lr }, trainEvalTokens: exp.train.evalTokens });
      continue;
    }
    // The kind's swept rate, then the preset's own training options (its rate is the one learningRateFor gives).
    const lr = learningRateFor(s, exp, preset);
    const train = { ...exp.train, ...(lr === undefined ? {} : { lr }), ...exp.presetTrain?.[preset] };
    for (const seed of seeds) {
      specs.push({ preset, seed, data: s.data, train, trainEvalTokens: exp.train.evalTokens });
    }
  }
  return specs;
}

/** Per attention kind, the swept rate with the lowest validation perplexity (ties: the lower rate). Pure. */
export function chooseLearningRates(sweep: readonly RunResult[]): Partial<Record<AttentionKind, { lr: number; valPerplexity: number; preset: string }>> {
  const best: Partial<Record<AttentionKind, { lr: number; valPerplexity: number; preset: string }>> = {};
  for (const r of sweep) {
    const lr = r.spec.train.lr;
    if (lr === undefined || !Number.isFinite(r.valPerplexity)) continue;
    const cur = best[r.config.attention];
    if (!cur || r.valPerplexity < cur.valPerplexity || (r.valPerplexity === cur.valPerplexity && lr < cur.lr)) {
      best[r.config.attention] = { lr, valPerplexity: r.valPerplexity, preset: r.spec.preset };
    }
  }
  return best;
}

/** Where a scale's run folders live: its committed folder under the project root, else <data root>/runs. */
export function scaleRunsDir(s: Scale, projectRoot: string, dataRoot: string = defaultDataRoot()): string {
  return s.runsDir ? path.join(projectRoot, s.runsDir) : path.join(dataRoot, 'runs');
}

export interface ExperimentRunOptions extends SpecOptions {
  runsDir?: string;
  /** Data root (default $MLA_DATA_ROOT, else data/). */
  root?: string;
  /** A dataset already loaded (e.g. a pack carried to the GPU machine); else it is prepared from the scale's data. */
  dataset?: TrainingDataset;
  /** Seconds after which the current run stops with a checkpoint and no further run starts (resumed next call). */
  budgetS?: number;
  force?: boolean;
  /** Checked before every step, as the budget is (e.g. an interrupt). */
  shouldStop?: () => boolean;
  hooks?: Pick<TrainHooks, 'onStep' | 'onEval'>;
  /** Progress lines: one per run started and finished, and one every `progressEvery` steps. */
  log?: (line: string) => void;
  progressEvery?: number;
  /** Called before each run with its spec (e.g. a notebook's live chart); its return is called after. */
  onRunStart?: (spec: RunSpec, index: number, total: number) => (() => void) | void;
}

export interface ExperimentRunReport {
  experiment: TrainingExperimentName;
  scale: string;
  /** Finished runs, in spec order. */
  results: RunResult[];
  /** Runs not finished when the call ended (budget or stop). */
  pending: RunSpec[];
  /** Runs whose loss diverged, in spec order (this call or an earlier one: their folders hold diverged.json). */
  diverged: { spec: RunSpec; runDir: string; step: number; message: string }[];
  stopped: boolean;
  /** Why the run in progress stopped ("… stopped at step N of M; rerun to resume …"), when one did. */
  stopMessage?: string;
  seconds: number;
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Trains (or reuses) every run of the experiment within the budget; returns what finished and what is left. */
export async function runExperiment(s: Scale, name: TrainingExperimentName, o: ExperimentRunOptions = {}): Promise<ExperimentRunReport> {
  const r = await runSpecs(name, experimentSpecs(s, name, o), o);
  return { experiment: name, scale: s.name, ...r };
}

/** Trains (or reuses) each spec in order within the budget: the loop under runExperiment and the notebooks. */
export async function runSpecs(label: string, specs: readonly RunSpec[], o: ExperimentRunOptions = {}): Promise<Omit<ExperimentRunReport, 'experiment' | 'scale'>> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const root = o.root ?? defaultDataRoot();
  const deadline = o.budgetS === undefined ? Infinity : t0 + o.budgetS * 1000;
  const over = () => Date.now() > deadline || (o.shouldStop?.() ?? false);
  const results: RunResult[] = [];
  const pending: RunSpec[] = [];
  const diverged: ExperimentRunReport['diverged'] = [];
  let stopped = false;
  let stopMessage: string | undefined;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    if (stopped || over()) {
      stopped = true;
      pending.push(spec);
      continue;
    }
    const config = resolveConfig(spec.preset, spec.overrides ?? {});
    const ds = o.dataset ?? (await datasetFor(spec.data, config.vocabSize, root, log));
    checkEpochs(spec, ds);
    const tag = `[${i + 1}/${specs.length}] ${label} ${modelOf(spec)} seed ${spec.seed}${spec.train.lr === undefined ? '' : ` lr ${spec.train.lr}`}`;
    const steps = totalStepsOf(spec, config.maxSeqLen);
    const every = o.progressEvery ?? 100;
    const onStep = (m: StepMetrics) => {
      if (m.step % every === 0 || m.step === steps) log(`${tag}: step ${m.step}/${steps}, loss ${m.loss.toFixed(3)}, ${fmt(m.tokensPerSec)} tokens/s`);
      return o.hooks?.onStep?.(m);
    };
    const done = o.onRunStart?.(spec, i, specs.length);
    const started = Date.now();
    try {
      const r = await ensureRun(spec, { force: o.force, root, runsDir: o.runsDir, dataset: ds, log: (line) => log(`${tag}: ${line}`), hooks: { onStep, onEval: o.hooks?.onEval, shouldStop: over } });
      results.push(r);
      log(`${tag}: val ppl ${r.valPerplexity.toFixed(2)}${r.trainPerplexity === null ? '' : `, train ppl ${r.trainPerplexity.toFixed(2)}`}, ${fmt(r.tokensPerSec.median)} tokens/s median, ${fmt((Date.now() - started) / 1000)} s`);
    } catch (e) {
      // A diverged run is done with: the next run starts, budget permitting (the loop's check).
      if (e instanceof DivergenceError) {
        log(`${tag}: diverged at step ${e.step}: ${e.message}`);
        diverged.push({ spec, runDir: runDirFor(spec, config, ds.corpusHash, o.runsDir ?? path.join(root, 'runs')), step: e.step, message: e.message });
        continue;
      }
      // A run stopped by the budget or an interrupt keeps its checkpoint; anything else is a real failure.
      if (!(e instanceof TrainingError) || !over()) throw e;
      log(`${tag}: ${e.message}`);
      stopMessage = e.message;
      stopped = true;
      pending.push(spec);
    } finally {
      if (typeof done === 'function') done();
    }
  }
  return { results, pending, diverged, stopped, ...(stopMessage ? { stopMessage } : {}), seconds: (Date.now() - t0) / 1000 };
}

/** A spec's model as a line names it: the preset, and its overrides (a design sweep's point) as key=value. */
export function modelOf(spec: RunSpec): string {
  const o = Object.entries(spec.overrides ?? {});
  return o.length ? `${spec.preset} ${o.map(([k, v]) => `${k}=${v}`).join(' ')}` : spec.preset;
}

/** Optimizer steps of a run, with ensureRun's defaults (8 rows, the model's maxSeqLen) under the spec's options. */
export function totalStepsOf(spec: RunSpec, maxSeqLen: number): number {
  return totalSteps(resolveTrainOptions({ batchSize: 8, seqLen: maxSeqLen, ...spec.train, seed: spec.seed, outDir: '.' }, maxSeqLen));
}

/** Passes over the training split a run makes. */
export function epochsOf(tokens: number, trainTokens: number): number {
  return tokens / trainTokens;
}

function checkEpochs(spec: RunSpec, ds: TrainingDataset): void {
  const epochs = epochsOf(spec.train.tokens, ds.tokenCounts.train);
  if (epochs > MAX_EPOCHS) {
    throw new ConfigError(
      'train.tokens',
      spec.train.tokens,
      `${spec.preset} would train ${fmt(spec.train.tokens)} tokens, ${epochs.toFixed(1)} epochs of ${ds.name}'s ${fmt(ds.tokenCounts.train)} training tokens (at most ${MAX_EPOCHS}); ` +
        `use MLA_DATA=wikitext103:/folder (or --data) for this scale, or the gpu scale on the embedded corpus`,
    );
  }
}

/** diverged: diverged.json and no result.json (ensureRun does not train it again). */
export type RunState = 'done' | 'diverged' | 'started' | 'pending';

export interface RunStatus {
  spec: RunSpec;
  dir: string;
  state: RunState;
  result?: RunResult;
  diverged?: DivergedRun;
}

/** Where each spec's run folder is and how far it got, without training anything. */
export async function runStatuses(specs: readonly RunSpec[], o: Pick<ExperimentRunOptions, 'runsDir' | 'root' | 'dataset'> = {}): Promise<RunStatus[]> {
  const root = o.root ?? defaultDataRoot();
  const out: RunStatus[] = [];
  for (const spec of specs) {
    const config = resolveConfig(spec.preset, spec.overrides ?? {});
    // The hash alone: a built corpus's manifest has it, without loading the token files.
    const corpusHash = o.dataset?.corpusHash ?? (await corpusHashFor(spec.data, config.vocabSize, root));
    const dir = runDirFor(spec, config, corpusHash, o.runsDir ?? path.join(root, 'runs'));
    const result = readJsonFile<RunResult>(path.join(dir, RESULT_FILE));
    const record = result ? undefined : readJsonFile<DivergedRun>(path.join(dir, DIVERGED_FILE));
    // A record a less patient guard made is set aside by the next run (ensureRun): the run is still to train.
    const diverged = record && !supersededDivergence(record, spec) ? record : undefined;
    const state: RunState = result ? 'done' : diverged ? 'diverged' : record ? 'pending' : fs.existsSync(path.join(dir, CONFIG_FILE)) ? 'started' : 'pending';
    out.push({ spec, dir, state, ...(result ? { result: { ...result, runDir: dir } } : {}), ...(diverged ? { diverged } : {}) });
  }
  return out;
}

/**
 * The scale with its per-kind learning rates taken from its finished sweep in `runsDir` (for running the
 * experiments before the chosen rates are written into the scale). Throws naming the kinds the sweep lacks.
 */
export async function withSweptLearningRates(s: Scale, o: Pick<ExperimentRunOptions, 'runsDir' | 'root' | 'dataset'>): Promise<Scale> {
  const statuses = await runStatuses(experimentSpecs(s, 'lrSweep'), o);
  // A diverged rate is a finished point of the sweep (too high), not a missing one: rerunning would not change it.
  const missing = statuses.filter((x) => x.state !== 'done' && x.state !== 'diverged');
  if (missing.length) {
    throw new ConfigError('lr', 'from-sweep', `the sweep of scale ${s.name} has ${missing.length} unfinished runs (first: ${missing[0].spec.preset} lr ${missing[0].spec.train.lr}); run: mla experiment run --experiment lrSweep --scale ${s.name}`);
  }
  const chosen = chooseLearningRates(statuses.filter((x) => x.result).map((x) => x.result!));
  const kindOf = (x: RunStatus) => resolveConfig(x.spec.preset, x.spec.overrides ?? {}).attention;
  const lost = [...new Set(statuses.filter((x) => x.state === 'diverged').map(kindOf))].filter((k) => !chosen[k]);
  if (lost.length) {
    throw new ConfigError('lr', 'from-sweep', `every swept rate of ${lost.join(', ')} in the sweep of scale ${s.name} diverged (mla experiment plan --experiment lrSweep --scale ${s.name}); add lower rates to the sweep`);
  }
  const lr = { ...s.lr, ...Object.fromEntries(Object.entries(chosen).map(([k, v]) => [k, v!.lr])) };
  return { ...s, lr };
}

/**
 * The finished runs in `runsDir` whose recorded spec is one of `specs`, in spec order (by what was run, read from
 * result.json, without the dataset: e.g. to check committed results against a scale).
 */
export function finishedResultsFor(specs: readonly RunSpec[], runsDir: string): RunResult[] {
  if (!fs.existsSync(runsDir)) return [];
  const byKey = new Map<string, RunResult>();
  for (const name of fs.readdirSync(runsDir).sort()) {
    const r = readJsonFile<RunResult>(path.join(runsDir, name, RESULT_FILE));
    if (r?.spec) byKey.set(canonical(r.spec), { ...r, runDir: path.join(runsDir, name) });
  }
  return specs.map((sp) => byKey.get(canonical(sp))).filter((r): r is RunResult => r !== undefined);
}
