// mla sweep plan|status|run|submit|report FILE: a sweep file (base spec + axes) expanded to runs named by their
// run folders; trained here (N workers, or run I alone for an array job) or put on a BullMQ queue; status and
// tables read from the run folders.
import * as path from 'node:path';
import { BACKEND_CHOICES, exitProcess } from '../../lib/backend/init';
import { ARRAY_INDEX_VARIABLES, arrayIndexFromEnv, processEnv } from '../../lib/settings';
import { SweepError } from '../../lib/sweep/errors';
import { readSweepFile } from '../../lib/sweep/spec';
import { planSweep, prepareSweepData, runAt } from '../../lib/sweep/plan';
import type { PlannedRun, SweepPlan } from '../../lib/sweep/plan';
import { countStates, sweepStatus } from '../../lib/sweep/status';
import type { RunStatus } from '../../lib/sweep/status';
import { runOneHere, runSweepHere, runSweepInChildren } from '../../lib/sweep/local';
import type { LocalOutcome } from '../../lib/sweep/local';
import { submitSweep } from '../../lib/sweep/queue';
import { writeSweepReport } from '../../lib/sweep/report';
import { resultsDir, projectRoot } from '../../lib/notebook/paths';
import { BACKEND_HELP, BACKEND_OPTION, output, parseFlags, requireInt, startBackend, textTable } from '../common';
import { CliError } from '../errors';
import { checkGpu, pinGpu } from './worker';

const HELP = `usage: mla sweep plan FILE [--count]             the runs of a sweep file (JSON or YAML), with their ids
       mla sweep status FILE                     done / running / failed / pending, from the run folders
       mla sweep run FILE [--workers N] [--gpu K[,K…]]   train the unfinished runs on this machine
       mla sweep run FILE --index I              train run I alone (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)
       mla sweep submit FILE --redis URL         put every unfinished run on the queue (workers: mla worker)
       mla sweep report FILE [--out DIR]         results CSVs and a loss figure from whatever has finished
  --runs-dir DIR    where run folders are (default: the file's runsDir, else <root>/runs); status and report
                    take it several times to read folders gathered from several machines
  --root DIR        data root: corpora and tokenizers (default: $MLA_DATA_ROOT, else the repository's data/)
  --workers N       child processes training at once (default 1: in this process)
  --gpu K[,K…]      pin the run (or worker slot i to the i-th K) to GPU K (see 'mla worker --help')
${BACKEND_HELP}
  --redis URL       redis://host:6379 (submit)   --queue NAME  (default mla-sweep)
  --attempts N      tries per run after thrown errors (default 2)   --retry-failed  requeue failed jobs
  --out DIR         report folder (default data/results/)
  --count           plan: print only the number of runs (for sbatch --array=0-$((N-1)))`;

const OPTIONS = {
  ...BACKEND_OPTION,
  'runs-dir': { type: 'string', multiple: true, default: [] as string[] },
  root: { type: 'string' },
  workers: { type: 'string' },
  index: { type: 'string' },
  gpu: { type: 'string' },
  redis: { type: 'string' },
  queue: { type: 'string' },
  attempts: { type: 'string' },
  'retry-failed': { type: 'boolean', default: false },
  out: { type: 'string' },
  count: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>['values'];
const VERBS = ['plan', 'status', 'run', 'submit', 'report'] as const;
type Verb = (typeof VERBS)[number];

const log = (s: string) => console.error(s);
const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function gpuList(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new CliError(`sweep: --gpu takes GPU numbers separated by commas, e.g. --gpu 0,1,2,3; got '${value}'`);
  return parts.map(Number);
}

/** The array index: --index, else the scheduler's variable. */
function arrayIndex(v: Values): { index: number; from: string } | undefined {
  if (v.index !== undefined) return { index: requireInt('sweep', 'index', v.index, 0)!, from: '--index' };
  let fromEnv: ReturnType<typeof arrayIndexFromEnv>;
  try {
    fromEnv = arrayIndexFromEnv(processEnv());
  } catch (err) {
    throw new CliError(`sweep: ${(err as Error).message}`);
  }
  if (fromEnv) return { index: fromEnv.index, from: `$${fromEnv.variable}` };
  return undefined;
}

function statusTable(plan: SweepPlan, statuses: RunStatus[], roots: string[]): string {
  const c = countStates(statuses);
  const head = `sweep ${plan.name}: ${plan.runs.length} runs: ${c.done} done, ${c.running} running, ${c.failed} failed, ${c.pending} pending (runs in ${roots.join(', ')})`;
  const rows = statuses.map((s) => [String(s.index), s.id, s.state, s.step !== undefined ? `${s.step}/${s.totalSteps}` : `-/${s.totalSteps}`, s.detail ?? '']);
  return [head, textTable(['#', 'run', 'state', 'step', 'detail'], rows)].join('\n');
}

function planTable(plan: SweepPlan): string {
  const rows = plan.runs.map((r) => [String(r.index), r.id, ...plan.axes.map((a) => show(r.values[a])), String(r.totalSteps)]);
  return [`sweep ${plan.name}: ${plan.runs.length} runs over ${plan.axes.length ? plan.axes.join(' × ') : 'no axes'} → ${plan.runsDir}`, textTable(['#', 'run', ...plan.axes, 'steps'], rows)].join('\n');
}

function outcomesText(outcomes: LocalOutcome[]): string {
  if (!outcomes.length) return 'nothing to do: every run is done';
  const failed = outcomes.filter((o) => !o.ok);
  const lines = outcomes.map((o) => `${o.ok ? 'done  ' : 'FAILED'}  #${o.index} ${o.id}${o.reason ? `: ${o.reason}` : ''}`);
  return [...lines, `${outcomes.length - failed.length} done, ${failed.length} failed`].join('\n');
}

/** The child command of worker slot k for `sweep run --workers N`. */
function childCommand(file: string, plan: SweepPlan, v: Values, gpus: number[] | undefined) {
  const main = path.join(__dirname, '..', 'main.js');
  return (run: PlannedRun, slot: number) => ({
    command: process.execPath,
    args: [
      main, 'sweep', 'run', file, '--index', String(run.index), '--runs-dir', plan.runsDir, '--root', plan.root,
      ...(v.backend ? ['--backend', v.backend] : []),
      ...(gpus ? ['--gpu', String(gpus[slot % gpus.length])] : []),
    ],
    // The children take their index from --index, never from a scheduler variable meant for the parent.
    env: { ...processEnv(), ...Object.fromEntries(ARRAY_INDEX_VARIABLES.map((n) => [n, ''])) },
  });
}

async function runVerb(file: string, plan: SweepPlan, v: Values): Promise<number> {
  const workers = requireInt('sweep', 'workers', v.workers, 1) ?? 1;
  const gpus = gpuList(v.gpu);
  const at = arrayIndex(v);
  if (at && v.workers !== undefined) throw new CliError(`sweep run: --workers and an array index (${at.from}) exclude each other; an array task trains one run`);
  if (workers > 1) {
    // Every GPU named must exist before N children each find out that it does not.
    for (const k of gpus ?? []) checkGpu(k);
    await prepareSweepData(plan, log);
    const outcomes = await runSweepInChildren(plan, workers, childCommand(file, plan, v, gpus), log);
    output(v.json, { sweep: plan.name, outcomes }, () => outcomesText(outcomes));
    return outcomes.every((o) => o.ok) ? 0 : 1;
  }
  if (gpus && gpus.length > 1) throw new CliError(`sweep run: --gpu ${v.gpu} lists several GPUs for one worker; give one, or --workers ${gpus.length}`);
  if (gpus) pinGpu(gpus[0], v.json);
  const backend = await startBackend(v.backend, v.json);
  const opts = { root: plan.root, log };
  let outcomes: LocalOutcome[];
  if (at) {
    const run = runAt(plan, at.index);
    log(`run ${run.index} of ${plan.runs.length} (from ${at.from}): ${run.id}`);
    outcomes = [(await runOneHere(run, opts)).outcome];
  } else {
    outcomes = await runSweepHere(plan, opts);
  }
  output(v.json, { sweep: plan.name, backend: backend.backend, device: backend.device, outcomes }, () => outcomesText(outcomes));
  const code = outcomes.every((o) => o.ok) ? 0 : 1;
  exitProcess(code);
  return code;
}

async function main(verb: Verb, file: string, v: Values): Promise<number> {
  const runsDirs = (v['runs-dir'] ?? []).map((d) => path.resolve(d));
  if (runsDirs.length > 1 && verb !== 'status' && verb !== 'report') throw new CliError(`sweep ${verb}: --runs-dir is given ${runsDirs.length} times; only status and report read several folders`);
  const sweep = readSweepFile(file);
  const plan = await planSweep(sweep, { root: v.root, runsDir: runsDirs[0], log });
  const roots = runsDirs.length ? runsDirs : [plan.runsDir];
  switch (verb) {
    case 'plan':
      if (v.count) return console.log(String(plan.runs.length)), 0;
      output(v.json, plan, () => planTable(plan));
      return 0;
    case 'status': {
      const statuses = sweepStatus(plan, roots);
      output(v.json, { sweep: plan.name, runsDirs: roots, counts: countStates(statuses), runs: statuses }, () => statusTable(plan, statuses, roots));
      return 0;
    }
    case 'run':
      return runVerb(file, plan, v);
    case 'submit': {
      if (!v.redis) throw new CliError('sweep submit: --redis URL is required, e.g. --redis redis://127.0.0.1:6379');
      const s = await submitSweep(plan, { redis: v.redis, queue: v.queue, attempts: requireInt('sweep', 'attempts', v.attempts, 1), retryFailed: v['retry-failed'] });
      output(v.json, s, () =>
        `queue ${s.queue}: ${s.added.length} added, ${s.alreadyQueued.length} already queued, ${s.retried.length} failed ones retried, ${s.failed.length} failed (requeue with --retry-failed), ${s.done.length} done (not submitted)\n` +
        `start workers with: mla worker --redis ${v.redis}${v.queue ? ` --queue ${v.queue}` : ''} --runs-dir ${plan.runsDir}`,
      );
      return 0;
    }
    case 'report': {
      const out = path.resolve(v.out ?? resultsDir(projectRoot()));
      const { report, files } = writeSweepReport(plan, out, roots);
      const c = countStates(sweepStatus(plan, roots));
      // The point's columns: its axes without the seed (which the row aggregates), and the preset when no axis sets it.
      const pointAxes = [...(plan.axes.includes('preset') ? [] : ['preset']), ...plan.axes.filter((a) => a !== 'seed')];
      output(v.json, { sweep: plan.name, counts: c, files, groups: report.groups }, () =>
        [
          `sweep ${plan.name}: ${c.done} of ${plan.runs.length} runs done (${c.running} running, ${c.failed} failed, ${c.pending} pending)`,
          ...files.map((f) => `wrote ${f}`),
          textTable(
            [...pointAxes, 'seeds', 'val ppl', 'sd'],
            report.groups.map((g) => [...pointAxes.map((a) => show(g[a])), String(g.seeds), g.valPplMean.toFixed(2), g.valPplSd.toFixed(2)]),
          ),
        ].join('\n'),
      );
      return 0;
    }
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags('sweep', argv, OPTIONS, true);
  if (v.help) return console.log(HELP), 0;
  const [verb, file, ...extra] = positionals;
  if (!verb || !(VERBS as readonly string[]).includes(verb)) throw new CliError(`sweep: unknown or missing verb '${verb ?? ''}'; use one of ${VERBS.join(', ')}`, HELP);
  if (!file) throw new CliError(`sweep ${verb}: name the sweep file, e.g. mla sweep ${verb} examples/sweeps/tiny.yaml`);
  if (extra.length) throw new CliError(`sweep ${verb}: unexpected argument '${extra[0]}'`);
  if (v.backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(v.backend)) throw new CliError(`sweep: --backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${v.backend}'`);
  try {
    return await main(verb as Verb, file, v);
  } catch (err) {
    // Sweep errors carry their fix; shown as one line like the CLI's own.
    if (err instanceof SweepError) throw new CliError(err.message);
    throw err;
  }
}
