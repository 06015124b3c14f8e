// mla train: train a preset on a prepared dataset, writing a run folder (config.json, metrics.jsonl,
// checkpoint/). --resume continues a run from its last checkpoint with the settings recorded in its config.json.
import * as path from 'node:path';
import type { ModelConfig } from '../../lib/config/model-config';
import { parseOverrides, resolveConfig } from '../../lib/config/presets';
import { DEFAULT_DATA_SPEC } from '../../lib/data/spec';
import { defaultDataRoot, prepareDataset } from '../../lib/data/prepare';
import { createModel } from '../../lib/model/gpt';
import { trainDataFromDataset } from '../../lib/train/data';
import { DEFAULT_TRAIN_OPTIONS } from '../../lib/train/options';
import { CONFIG_FILE, readJsonFile } from '../../lib/train/run-dir';
import type { RunConfig } from '../../lib/train/trainer';
import { checkRunUnlocked } from '../../lib/train/lock';
import { installStopSignals } from '../../lib/train/signals';
import { train } from '../../lib/train/trainer';
import type { ScheduleKind, TrainOptions } from '../../lib/train/types';
import { BACKEND_HELP, BACKEND_OPTION, MODEL_OPTIONS, output, parseFlags, requireInt, requireNumber, startBackend } from '../common';
import { withDeviceErrorScope } from '../../lib/backend';
import { CliError } from '../errors';

const HELP = `usage: mla train --preset NAME [--set key=value ...] [--data SPEC] --tokens N [options] [--json]
       mla train --out DIR --resume [--json]
  --tokens N            training tokens; the run makes ceil(N / (batch·seq·accum)) optimizer steps
  --batch B             rows per micro-batch (default ${DEFAULT_TRAIN_OPTIONS.batchSize})
  --seq T               training sequence length, ≤ the model's maxSeqLen (default: maxSeqLen)
  --accum A             micro-batches per optimizer step (default ${DEFAULT_TRAIN_OPTIONS.accumSteps})
  --lr X                peak learning rate (default ${DEFAULT_TRAIN_OPTIONS.lr}); AdamW (0.9, 0.999), eps 1e-8, wd 0.01, clip 1.0
  --warmup-steps W      linear warm-up steps of the cosine schedule (default 5% of the steps)
  --schedule S          cosine (sized to this run, floor 10%) | original (the study's: never above ~13% of --lr)
  --seed S              seeds the init, the data order and dropout (default 0)
  --out DIR             the run folder (default runs/<preset>-seed<S>-<time>)
  --resume              continue the run in --out from its last checkpoint
  --eval-every N        validation perplexity every N steps and at the end (default: only at the end)
  --eval-tokens N       validation tokens scored (default: the whole split)
  --eval-split S        val (default) | train | test: the split validated on
  --checkpoint-every N  checkpoint every N steps and at the end (default: only at the end)
  --keep-checkpoints K  checkpoint sets kept, newest first (default ${DEFAULT_TRAIN_OPTIONS.keepCheckpoints})
  --divergence-steps N  stop when the loss is insane (> ln(V) + 2, or > 2× its running median) N steps in a
                        row, keeping the last sane checkpoint (default ${DEFAULT_TRAIN_OPTIONS.divergenceSteps}; 0: only on NaN/Inf)
  --data SPEC           embedded (default) | wikitext103:/folder | wikitext2:/folder
  --root DIR            data root (default: $MLA_DATA_ROOT, else the repository's data/)
  --progress P          auto | bar | lines | none (on stderr; default auto: a bar on a TTY)
${BACKEND_HELP}
Ctrl-C, SIGTERM or SIGHUP stop after the current step and write a checkpoint (exit 130, 143, 129; a second
signal quits at once); resume with --out DIR --resume. One process at a time trains a run folder (its lock file).
--debug prints the stack of any error.`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...BACKEND_OPTION,
  data: { type: 'string' },
  root: { type: 'string' },
  tokens: { type: 'string' },
  batch: { type: 'string' },
  seq: { type: 'string' },
  accum: { type: 'string' },
  lr: { type: 'string' },
  'warmup-steps': { type: 'string' },
  schedule: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean', default: false },
  'eval-every': { type: 'string' },
  'eval-tokens': { type: 'string' },
  'eval-split': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'keep-checkpoints': { type: 'string' },
  'divergence-steps': { type: 'string' },
  progress: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>['values'];

/** Options given on the command line (undefined where absent). */
function flagOptions(v: Values): Partial<TrainOptions> {
  const int = (flag: string, value: string | undefined, min = 0) => requireInt('train', flag, value, min);
  if (v.schedule !== undefined && v.schedule !== 'cosine' && v.schedule !== 'original') {
    throw new CliError(`train: --schedule must be cosine or original, got '${v.schedule}'`);
  }
  return {
    tokens: int('tokens', v.tokens, 1),
    batchSize: int('batch', v.batch, 1),
    seqLen: int('seq', v.seq, 1),
    accumSteps: int('accum', v.accum, 1),
    lr: requireNumber('train', 'lr', v.lr),
    warmupSteps: int('warmup-steps', v['warmup-steps'], 1),
    schedule: v.schedule as ScheduleKind | undefined,
    seed: int('seed', v.seed),
    evalEvery: int('eval-every', v['eval-every']),
    evalTokens: int('eval-tokens', v['eval-tokens']),
    checkpointEvery: int('checkpoint-every', v['checkpoint-every']),
    keepCheckpoints: int('keep-checkpoints', v['keep-checkpoints'], 1),
    divergenceSteps: int('divergence-steps', v['divergence-steps']),
  };
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as Partial<T>;

interface Plan {
  config: ModelConfig;
  options: Partial<TrainOptions> & Pick<TrainOptions, 'tokens' | 'outDir'>;
  preset: string | undefined;
  dataSpec: string;
  dataRoot: string;
  evalSplit: 'val' | 'train' | 'test';
}

function evalSplitOf(value: string | undefined): Plan['evalSplit'] | undefined {
  if (value === undefined) return undefined;
  if (value !== 'val' && value !== 'train' && value !== 'test') throw new CliError(`train: --eval-split must be val, train or test, got '${value}'`);
  return value;
}

/** A new run: everything from the flags. */
function newRun(v: Values): Plan {
  if (!v.preset) throw new CliError('train: --preset NAME is required', "run 'mla presets' to list them");
  const config = resolveConfig(v.preset, parseOverrides(v.set ?? []));
  const given = defined(flagOptions(v));
  if (given.tokens === undefined) throw new CliError('train: --tokens N is required (training tokens)');
  const seed = given.seed ?? 0;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const outDir = v.out ?? path.join('runs', `${v.preset}-seed${seed}-${stamp}`);
  return {
    config,
    options: { seqLen: config.maxSeqLen, ...given, tokens: given.tokens, seed, outDir },
    preset: v.preset,
    dataSpec: v.data ?? DEFAULT_DATA_SPEC,
    dataRoot: path.resolve(v.root ?? defaultDataRoot()),
    evalSplit: evalSplitOf(v['eval-split']) ?? 'val',
  };
}

/** A resumed run: its config.json's settings; flags given again must agree (the trainer checks). */
function resumedRun(v: Values): Plan {
  if (!v.out) throw new CliError('train: --resume needs --out DIR, the run folder to continue');
  const saved = readJsonFile<RunConfig>(path.join(v.out, CONFIG_FILE));
  if (!saved) throw new CliError(`train: ${path.join(v.out, CONFIG_FILE)} is missing or unreadable; is --out a run folder?`);
  if (v.preset !== undefined && v.preset !== saved.preset) {
    throw new CliError(`train: --preset ${v.preset} differs from the run's preset ${String(saved.preset)}; drop --preset when resuming`);
  }
  if (v.set?.length) throw new CliError('train: --set cannot change a run being resumed; drop it');
  const config = resolveConfig(undefined, saved.model);
  const data = (saved.data ?? {}) as { spec?: string; evalSplit?: Plan['evalSplit'] };
  return {
    config,
    options: { ...(saved.options as Partial<TrainOptions>), ...defined(flagOptions(v)), tokens: saved.options.tokens, outDir: v.out, resume: true } as Plan['options'],
    preset: saved.preset as string | undefined,
    dataSpec: v.data ?? data.spec ?? DEFAULT_DATA_SPEC,
    dataRoot: path.resolve(v.root ?? (saved.dataRoot as string | undefined) ?? defaultDataRoot()),
    evalSplit: evalSplitOf(v['eval-split']) ?? data.evalSplit ?? 'val',
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('train', argv, OPTIONS);
  if (v.help) return console.log(HELP), 0;
  const plan = v.resume ? resumedRun(v) : newRun(v);
  if (v.resume && v.tokens !== undefined && Number(v.tokens) !== plan.options.tokens) {
    throw new CliError(`train: --tokens ${v.tokens} differs from the run's ${plan.options.tokens}; a resumed run keeps its length`);
  }
  const progress = v.progress ?? 'auto';
  if (!['auto', 'bar', 'lines', 'none'].includes(progress)) throw new CliError(`train: --progress must be auto, bar, lines or none, got '${progress}'`);

  // A folder another process trains is refused before the backend and the data are prepared (train() takes the lock).
  checkRunUnlocked(path.resolve(plan.options.outDir));
  const backend = await startBackend(v.backend, v.json);
  const log = (s: string) => console.error(s);
  const ds = await prepareDataset(plan.dataSpec, { vocabSize: plan.config.vocabSize, root: plan.dataRoot, log });
  const o = plan.options;
  const batchSize = o.batchSize ?? DEFAULT_TRAIN_OPTIONS.batchSize;
  const seqLen = o.seqLen ?? plan.config.maxSeqLen;
  const seed = o.seed ?? 0;
  const data = trainDataFromDataset(ds, { batchSize, seqLen, seed, evalSplit: plan.evalSplit });
  const model = createModel(plan.config, seed);

  // A signal once: stop after this step with a checkpoint. Twice: exit at once.
  const signals = installStopSignals();
  console.error(`${o.resume ? 'resuming' : 'writing'} run ${path.resolve(o.outDir)}`);
  try {
    // In a Dawn error scope on WebGPU (nothing on other backends): a device error fails the command, naming it
    // and the step it happened in (checked after each step's loss readback; earlier steps' output is kept).
    const result = await withDeviceErrorScope((check) => train(
      model,
      data,
      {
        ...o,
        batchSize,
        seqLen,
        seed,
        progress: progress as TrainOptions['progress'],
        runInfo: {
          preset: plan.preset,
          dataRoot: plan.dataRoot,
          command: ['mla', 'train', ...argv].join(' '),
        },
        checkpointMetadata: { tokenizer: ds.tokenizerPath, preset: plan.preset ?? '', data: String(data.describe?.spec ?? '') },
      },
      { shouldStop: signals.shouldStop, checkStep: (step) => check(`step ${step}`) },
    ), 'train');
    const trainPerplexity = Math.exp(result.finalLoss);
    output(v.json, { ...result, trainPerplexity, preset: plan.preset, backend: backend.backend, device: backend.device }, () =>
      [
        `run         ${result.runDir}${result.stopped ? ' (stopped early; continue with --resume)' : ''}`,
        `steps       ${result.steps}/${result.totalSteps} (${result.tokens.toLocaleString('en-US')} tokens, ${Math.round(result.tokensPerSec)} tokens/s)`,
        `train loss  ${result.finalLoss.toFixed(4)} (perplexity ${trainPerplexity.toFixed(2)}, last step)`,
        result.finalValPerplexity !== undefined
          ? `${plan.evalSplit} ppl     ${result.finalValPerplexity.toFixed(2)} (loss ${result.finalValLoss!.toFixed(4)})`
          : `${plan.evalSplit} ppl     (not measured)`,
        `checkpoint  ${result.checkpoint}`,
      ].join('\n'),
    );
    // 128 + the signal, as a shell reports it: the run is not finished (but resumable).
    return result.stopped ? signals.exitCode() ?? 130 : 0;
  } finally {
    signals.dispose();
    model.dispose();
  }
}
