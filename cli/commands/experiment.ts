// mla experiment run|plan: the study's experiments at a named scale, through the same runner the notebooks call
// (lib/experiments/runner.ts). `run` trains or reuses every run folder within an optional time budget and resumes
// next time; `plan` lists the runs, their folders and how far each got.
import * as path from 'node:path';
import { exitProcess } from '../../lib/backend/init';
import { loadPackedDataset } from '../../lib/data/packed';
import type { TrainingDataset } from '../../lib/data/packed';
import { ensureDecodeCostStudy, ensureTimingStudy, findInferenceResults } from '../../lib/experiments/inference-runs';
import {
  checkExperimentName,
  experimentSpecs,
  ExperimentName,
  modelOf,
  runExperiment,
  type RunStatus,
  runStatuses,
  scaleRunsDir,
  TRAINING_EXPERIMENTS,
  TrainingExperimentName,
  withSweptLearningRates,
  EXPERIMENT_NAMES,
  DESIGN_STUDIES,
  DesignStudyName,
} from '../../lib/experiments/runner';
import { projectRoot } from '../../lib/notebook/paths';
import { installStopSignals } from '../../lib/train/signals';
import { scale as scaleNamed, SCALE_NAMES } from '../../lib/notebook/scale';
import type { Scale } from '../../lib/notebook/scale';
import { BACKEND_HELP, BACKEND_OPTION, output, parseFlags, parseIdList, requireInt, startBackend, textTable } from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla experiment run --experiment E[,E...] --scale S [options] [--json]
       mla experiment plan --experiment E[,E...] --scale S [--seeds ...] [--presets ...] [--json]
  --experiment E   ${EXPERIMENT_NAMES.join(' | ')} (several, comma-separated, run in order)
  --scale S        ${SCALE_NAMES.join(' | ')} (lib/notebook/scale.ts; $MLA_DATA replaces its data spec)
  --seeds 0,1,2    seeds (default: the experiment's, else the scale's)
  --presets a,b    only these presets of the experiment (rankSweep, ropeSplit: point ids such as mla-kv64, or presets)
                   (timing, decodeCost, latentQuant and convert take neither --seeds nor --presets)
  --budget-s N     stop after N seconds: the run in progress writes a checkpoint and the next call resumes it
  --runs-dir DIR   run folders (default: the scale's committed folder, e.g. data/experiments/gpu, else data/runs)
  --dataset DIR    a dataset packed by 'mla data pack' (for a machine without the corpus packages)
  --root DIR       data root (default: $MLA_DATA_ROOT, else the repository's data/)
  --lr-from-sweep  per-kind learning rates from the scale's finished lrSweep runs (before they are in the scale)
  --force          retrain finished and diverged runs (the old folders are moved aside); latentQuant, convert:
                   compute the study again, reusing its source runs
  --progress-every N  a progress line every N steps (default 100)
${BACKEND_HELP}
Finished runs are reused and unfinished ones resume, so rerunning the same command continues where it stopped.
latentQuant (notebook 10) and convert (notebook 09) train or reuse their source runs (the design sweeps' plain
presets, seed 0) and need their checkpoints: run them on the machine that trained those runs.
A run whose loss diverges is recorded in its folder (diverged.json, beside its metrics) and the next run starts;
rerunning does not train it again (plan shows it as diverged): change its rate, or pass --force to retrain it.
Exit code 0 when every run is finished, 75 when some are left (budget or interrupt): rerun to continue, 3 when
every run ended but some diverged.`;

const isStudy = (name: string): name is DesignStudyName => (DESIGN_STUDIES as readonly string[]).includes(name);
// Loaded only when a design study is asked for: the conversion's SVD needs ml-matrix, which no training run does.
const designStudies = () => require('../../lib/experiments/design-studies') as typeof import('../../lib/experiments/design-studies');

const OPTIONS = {
  ...BACKEND_OPTION,
  experiment: { type: 'string' },
  scale: { type: 'string' },
  seeds: { type: 'string' },
  presets: { type: 'string' },
  'budget-s': { type: 'string' },
  'runs-dir': { type: 'string' },
  dataset: { type: 'string' },
  root: { type: 'string' },
  'lr-from-sweep': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  'progress-every': { type: 'string' },
} as const;

/** EX_TEMPFAIL: the work is not finished, and the same command continues it. */
const EXIT_UNFINISHED = 75;
/** Every run ended, some by diverging: rerunning changes nothing (2 is a usage error, 1 a failure). */
const EXIT_DIVERGED = 3;

/** A diverged run's step for the plan's rows (nothing for any other state, so those rows stay as they were). */
const divergedAt = (st: RunStatus): { divergedAtStep?: number } => (st.diverged ? { divergedAtStep: st.diverged.step } : {});

function list(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((x) => x.trim()).filter(Boolean);
  if (!items.length) throw new CliError(`experiment: --${flag} is empty`);
  return items;
}

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags('experiment', argv, OPTIONS, true);
  if (v.help) return console.log(HELP), 0;
  const [action, ...extra] = positionals;
  if (extra.length) throw new CliError(`experiment: unexpected argument '${extra[0]}'`, HELP);
  if (action !== 'run' && action !== 'plan') throw new CliError(action ? `experiment: unknown action '${action}'` : 'experiment: say run or plan', HELP);
  const names = (list('experiment', v.experiment) ?? []).map((n) => {
    try {
      return checkExperimentName(n);
    } catch (e) {
      throw new CliError(`experiment: --experiment '${n}' is not an experiment; choose from ${EXPERIMENT_NAMES.join(', ')}`);
    }
  });
  if (!names.length) throw new CliError(`experiment: --experiment is required (${EXPERIMENT_NAMES.join(', ')})`, HELP);
  if (!v.scale) throw new CliError(`experiment: --scale is required (${SCALE_NAMES.join(', ')})`, HELP);
  if (!(SCALE_NAMES as readonly string[]).includes(v.scale)) throw new CliError(`experiment: --scale '${v.scale}' is not a scale; choose from ${SCALE_NAMES.join(', ')}`);
  let s: Scale = scaleNamed(v.scale);
  const seeds = parseIdList('experiment', 'seeds', v.seeds, 'integers');
  const presets = list('presets', v.presets);
  const budgetS = requireInt('experiment', 'budget-s', v['budget-s'], 1);
  const progressEvery = requireInt('experiment', 'progress-every', v['progress-every'], 1);
  const runsDir = path.resolve(v['runs-dir'] ?? scaleRunsDir(s, projectRoot()));
  const root = v.root;
  const dataset: TrainingDataset | undefined = v.dataset ? await loadPackedDataset(v.dataset) : undefined;
  const where = { runsDir, root, dataset };
  if (v['lr-from-sweep']) s = await withSweptLearningRates(s, where);
  const log = (line: string) => console.error(line);

  if (action === 'plan') {
    const rows: Record<string, unknown>[] = [];
    for (const name of names) {
      if (isStudy(name)) {
        const st = await designStudies().designStudyStatus(s, name, where);
        for (const x of st.sources) {
          rows.push({ experiment: name, preset: `${x.role}: ${modelOf(x.spec)}`, seed: x.spec.seed, lr: x.spec.train.lr ?? null, tokens: x.spec.train.tokens, state: x.state, checkpoint: x.loads ? x.checkpoint : null, dir: x.dir, valPerplexity: x.result?.valPerplexity ?? null, ...divergedAt(x) });
        }
        const state = st.result ? 'done' : st.units.done ? 'started' : 'pending';
        rows.push({ experiment: name, preset: `study: ${st.units.done}/${st.units.total} units`, seed: null, lr: null, tokens: null, state, dir: st.dir, valPerplexity: null });
        continue;
      }
      if (name === 'timing' || name === 'decodeCost') {
        // Measured per machine (the folder names the backend and device): every finished one, else pending.
        const found = findInferenceResults(runsDir, name, name === 'timing' ? s.timing : s.decodeCost);
        for (const r of found) rows.push({ experiment: name, preset: `study on ${r.backend} (${r.device})`, seed: null, lr: null, tokens: null, state: 'done', dir: r.dir, valPerplexity: null });
        if (!found.length) rows.push({ experiment: name, preset: 'study: on no machine yet', seed: null, lr: null, tokens: null, state: 'pending', dir: runsDir, valPerplexity: null });
        continue;
      }
      if (!(TRAINING_EXPERIMENTS as readonly string[]).includes(name)) continue;
      for (const st of await runStatuses(experimentSpecs(s, name as TrainingExperimentName, { seeds, presets }), where)) {
        rows.push({ experiment: name, preset: modelOf(st.spec), seed: st.spec.seed, lr: st.spec.train.lr ?? null, tokens: st.spec.train.tokens, state: st.state, dir: st.dir, valPerplexity: st.result?.valPerplexity ?? null, ...divergedAt(st) });
      }
    }
    output(v.json, rows, () =>
      textTable(['experiment', 'preset', 'seed', 'lr', 'tokens', 'state', 'val ppl', 'folder'], rows.map((r) => [String(r.experiment), String(r.preset), String(r.seed ?? '-'), String(r.lr ?? '-'), String(r.tokens ?? '-'), r.checkpoint === false && r.state === 'done' ? 'done, no checkpoint' : r.state === 'diverged' ? `diverged at step ${r.divergedAtStep}` : String(r.state), r.valPerplexity === null ? '-' : (r.valPerplexity as number).toFixed(2), path.relative(process.cwd(), String(r.dir))])),
    );
    return 0;
  }

  const backend = await startBackend(v.backend, false);
  // Ctrl-C, kill and a scheduler's SIGTERM all stop the current run after its step, with a checkpoint.
  const signals = installStopSignals((sig) => console.error(`\n${sig}: stopping after this step (a checkpoint is written); rerun the same command to resume`));
  const interrupted = () => signals.shouldStop();
  const deadline = budgetS === undefined ? undefined : Date.now() + budgetS * 1000;
  const left = () => (deadline === undefined ? undefined : Math.max(1, Math.round((deadline - Date.now()) / 1000)));
  const summary: Record<string, unknown>[] = [];
  const diverged: { experiment: string; preset: string; seed: number; lr: number | null; step: number; dir: string; message: string }[] = [];
  let unfinished = false;
  try {
    for (const name of names as ExperimentName[]) {
      if (interrupted() || (deadline !== undefined && Date.now() > deadline)) {
        unfinished = true;
        summary.push({ experiment: name, finished: 0, pending: 'all' });
        continue;
      }
      if (name === 'timing' || name === 'decodeCost') {
        const r = name === 'timing' ? await ensureTimingStudy(s.timing, { runsDir, force: v.force, log }) : await ensureDecodeCostStudy(s.decodeCost, { runsDir, force: v.force, log });
        log(`${name}: ${r.rows.length} points on ${r.backend} (${r.device}) → ${r.dir}`);
        summary.push({ experiment: name, finished: r.rows.length, pending: 0, dir: r.dir });
        continue;
      }
      if (isStudy(name)) {
        // Its units (a cache format of a model, a conversion, a fine-tune) are what `finished` and `pending` count.
        const r = await designStudies().runDesignStudy(s, name, { runsDir, root, dataset, force: v.force, budgetS: left(), shouldStop: interrupted, log });
        if (r.stopMessage) log(r.stopMessage);
        unfinished ||= r.result === null;
        summary.push({ experiment: name, finished: r.units.done, pending: r.units.total - r.units.done, ...(r.pending.length ? { pendingSources: r.pending.length } : {}), seconds: Math.round(r.seconds), dir: r.dir });
        continue;
      }
      const report = await runExperiment(s, name, { seeds, presets, runsDir, root, dataset, budgetS: left(), force: v.force, log, progressEvery, shouldStop: interrupted });
      unfinished ||= report.pending.length > 0;
      for (const d of report.diverged) diverged.push({ experiment: name, preset: modelOf(d.spec), seed: d.spec.seed, lr: d.spec.train.lr ?? null, step: d.step, dir: d.runDir, message: d.message });
      summary.push({ experiment: name, finished: report.results.length, pending: report.pending.length, ...(report.diverged.length ? { diverged: report.diverged.length } : {}), seconds: Math.round(report.seconds) });
    }
  } finally {
    signals.dispose();
  }
  output(v.json, { scale: s.name, backend: backend.backend, device: backend.device, runsDir, lr: s.lr ?? null, experiments: summary, diverged }, () =>
    [
      `scale ${s.name} on ${backend.backend} (${backend.device}); run folders in ${runsDir}`,
      ...summary.map((x) => `${x.experiment}: ${x.finished} finished, ${x.pending} left${x.diverged ? `, ${x.diverged} diverged` : ''}`),
      ...(diverged.length
        ? [`diverged (a rerun does not train them again; change the rate, or pass --force): ${diverged.map((d) => `${d.experiment} ${d.preset} seed ${d.seed}${d.lr === null ? '' : ` lr ${d.lr}`} at step ${d.step} (${path.relative(process.cwd(), d.dir)})`).join('; ')}`]
        : []),
      unfinished ? 'not finished: rerun the same command to continue' : diverged.length ? `finished, ${diverged.length} diverged` : 'all finished',
    ].join('\n'),
  );
  // A signal's own code (130, 143, 129) when one stopped the work, as a shell reports it; 75 for a spent budget
  // (before 3: the rerun it asks for also reports the diverged runs again).
  const code = signals.exitCode() ?? (unfinished ? EXIT_UNFINISHED : diverged.length ? EXIT_DIVERGED : 0);
  exitProcess(code);
  return code;
}
