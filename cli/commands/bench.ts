// mla bench <kind>: benchmarks that write a record to data/bench/<kind>-<timestamp>.json.
// Each kind is one entry of BENCHES with its own flags; `train` and `decode` plug in the same way.
import { type BackendInit, type CpuOptions, initBackend } from '../../lib/backend';
import {
  MATMUL_DEFAULTS,
  type MatmulRow,
  PROFILE_DEFAULTS,
  STANDIN_DEFAULT,
  type StandinConfig,
  runMatmulBench,
  runStepProfile,
  startRecord,
  writeRecord,
} from '../../lib/bench';
import { CliError } from '../errors';
import { backendSettings } from '../../lib/settings';
import { runDecodeBench, runTrainBench } from '../../lib/bench/model-benches';
import { CACHE_MODES, type CacheMode, defaultCacheMode } from '../../lib/costs/cache-modes';
import { MODEL_OPTIONS, modelConfigFromFlags } from '../common';
import { BACKEND_HELP, output, parseFlags, requireInt, textTable } from '../common';

interface BenchKind {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const BENCHES: Record<string, BenchKind> = {
  matmul: { summary: 'GFLOP/s of tf.matMul next to raw BLAS sgemm, per size', run: benchMatmul },
  profile: { summary: 'time per training step of a stand-in transformer, by kernel', run: benchProfile },
  train: { summary: 'training tokens/s of a preset through the real trainer (median of steps after warm-up)', run: benchTrain },
  decode: { summary: 'ms per decoded token of a preset in a cache mode at a context length', run: benchDecode },
};

function usage(): string {
  const rows = Object.entries(BENCHES).map(([k, v]) => `  ${k.padEnd(10)} ${v.summary}`);
  return ['usage: mla bench <kind> [options]   (mla bench <kind> --help for its flags)', '', ...rows].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (!kind || kind === '--help' || kind === '-h') {
    console.log(usage());
    return kind ? 0 : 2;
  }
  const bench = BENCHES[kind];
  if (!bench) throw new CliError(`bench: unknown kind '${kind}'`, usage());
  return bench.run(rest);
}

// ---- shared flags ---------------------------------------------------------------------------------

const CPU_FLAGS = {
  backend: { type: 'string' },
  threads: { type: 'string' },
  native: { type: 'string' },
  kernels: { type: 'string' },
  out: { type: 'string' },
} as const;

const CPU_HELP = `${BACKEND_HELP}
  --threads N      CPU threads for BLAS and the native kernels (default: $MLA_THREADS, else all cores)
  --native on|off  native CPU kernels (default on when built; $MLA_NATIVE=0 turns them off)
  --kernels LIST   register only these native kernels, e.g. BatchMatMul,_FusedMatMul (for comparisons)
  --out DIR        where the record goes (default data/bench)
  --json           print the record as JSON`;

interface CpuFlagValues {
  backend?: string;
  threads?: string;
  native?: string;
  kernels?: string;
}

async function startBench(command: string, v: CpuFlagValues, quiet: boolean): Promise<BackendInit> {
  if (v.native !== undefined && v.native !== 'on' && v.native !== 'off') {
    throw new CliError(`${command}: --native must be on or off, got '${v.native}'`);
  }
  const cpu: CpuOptions = {
    threads: requireInt(command, 'threads', v.threads, 1),
    native: v.native === undefined ? undefined : v.native === 'on',
    kernels: v.kernels?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
  };
  const init = await initBackend(backendSettings({ backend: v.backend }), cpu);
  if (!quiet) {
    for (const note of init.notes) console.error(`note: ${note}`);
    console.error(`backend: ${init.backend} (${init.device}${init.native ? ', native kernels' : ''})`);
  }
  return init;
}

function parseSizes(command: string, raw: string | undefined, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((s) => !/^[1-9]\d*$/.test(s))) {
    throw new CliError(`${command}: --sizes takes comma-separated positive integers, e.g. 256,512,1024, got '${raw}'`);
  }
  return parts.map(Number);
}

const fmt = (x: number | null, digits = 1) => (x === null ? '-' : x.toFixed(digits));

// ---- mla bench matmul -----------------------------------------------------------------------------

const MATMUL_HELP = `usage: mla bench matmul [--sizes 256,512,1024,2048] [--batched] [options]
GFLOP/s of tf.matMul on the active backend at each size n, (n, n)·(n, n), and with --batched also
(8, n, n)·(8, n, n). In the same run, alternating with it, the addon's raw sgemm on the same inputs (the
BLAS baseline; CPU backend only). Each figure is the median of repeated calls after warm-up.
  --sizes LIST     matrix sizes (default 256,512,1024,2048)
  --batched        also the batched layout
  --repeats N      timed calls at least (default ${MATMUL_DEFAULTS.minRepeats}; more while under --budget-s)
  --budget-s S     seconds of timed calls per size and layout (default ${MATMUL_DEFAULTS.budgetMs / 1000})
${CPU_HELP}`;

async function benchMatmul(argv: string[]): Promise<number> {
  const { values } = parseFlags('bench matmul', argv, {
    ...CPU_FLAGS,
    sizes: { type: 'string' },
    batched: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    'budget-s': { type: 'string' },
  });
  if (values.help) return console.log(MATMUL_HELP), 0;
  const budgetS = values['budget-s'] === undefined ? MATMUL_DEFAULTS.budgetMs / 1000 : Number(values['budget-s']);
  if (!Number.isFinite(budgetS) || budgetS < 0) throw new CliError(`bench matmul: --budget-s must be a number of seconds ≥ 0, got '${values['budget-s']}'`);
  const settings = {
    ...MATMUL_DEFAULTS,
    sizes: parseSizes('bench matmul', values.sizes, MATMUL_DEFAULTS.sizes),
    modes: values.batched ? (['single', 'batched'] as const) : (['single'] as const),
    minRepeats: requireInt('bench matmul', 'repeats', values.repeats, 1) ?? MATMUL_DEFAULTS.minRepeats,
    budgetMs: budgetS * 1000,
  };
  await startBench('bench matmul', values, values.json);
  const record = startRecord('matmul', settings, [] as MatmulRow[]);
  const header = ['layout', 'n', 'tf.matMul ms', 'tf GFLOP/s', 'BLAS GFLOP/s', 'tf / BLAS', 'repeats'];
  if (!values.json) console.error(header.join('  '));
  record.results = await runMatmulBench({ ...settings, modes: [...settings.modes] }, (r) => {
    if (!values.json) console.error([r.mode, r.n, fmt(r.tfMs, 2), fmt(r.tfGflops), fmt(r.blasGflops), fmt(r.ratio, 2), r.repeats].join('  '));
  });
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      textTable(
        header,
        record.results.map((r) => [`${r.mode}${r.batch > 1 ? ` ×${r.batch}` : ''}`, r.n, fmt(r.tfMs, 2), fmt(r.tfGflops), fmt(r.blasGflops), r.ratio === null ? '-' : `${(100 * r.ratio).toFixed(0)}%`, r.repeats]),
      ),
      `record: ${file}`,
    ].join('\n'),
  );
  return 0;
}

// ---- mla bench profile ----------------------------------------------------------------------------

const PROFILE_HELP = `usage: mla bench profile [model flags] [--steps N] [--warmup N] [options]
Times forward + backward (all parameter gradients) of a stand-in pre-LayerNorm transformer written in
plain tfjs ops (lib/bench/standin-model.ts), then profiles one more step and lists kernels by time.
  --batch B --seq T --dmodel C --heads H --layers L --vocab V
                   model and batch (default ${STANDIN_DEFAULT.batch}, ${STANDIN_DEFAULT.seqLen}, ${STANDIN_DEFAULT.dModel}, ${STANDIN_DEFAULT.heads}, ${STANDIN_DEFAULT.layers}, ${STANDIN_DEFAULT.vocab})
  --steps N        timed steps (default ${PROFILE_DEFAULTS.steps}); --warmup N untimed steps first (default ${PROFILE_DEFAULTS.warmup})
  --top N          kernels listed (default 15; the record keeps all)
${CPU_HELP}`;

async function benchProfile(argv: string[]): Promise<number> {
  const cmd = 'bench profile';
  const { values } = parseFlags(cmd, argv, {
    ...CPU_FLAGS,
    batch: { type: 'string' },
    seq: { type: 'string' },
    dmodel: { type: 'string' },
    heads: { type: 'string' },
    layers: { type: 'string' },
    vocab: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    top: { type: 'string' },
  });
  if (values.help) return console.log(PROFILE_HELP), 0;
  const model: StandinConfig = {
    batch: requireInt(cmd, 'batch', values.batch, 1) ?? STANDIN_DEFAULT.batch,
    seqLen: requireInt(cmd, 'seq', values.seq, 1) ?? STANDIN_DEFAULT.seqLen,
    dModel: requireInt(cmd, 'dmodel', values.dmodel, 1) ?? STANDIN_DEFAULT.dModel,
    heads: requireInt(cmd, 'heads', values.heads, 1) ?? STANDIN_DEFAULT.heads,
    layers: requireInt(cmd, 'layers', values.layers, 1) ?? STANDIN_DEFAULT.layers,
    vocab: requireInt(cmd, 'vocab', values.vocab, 2) ?? STANDIN_DEFAULT.vocab,
    seed: STANDIN_DEFAULT.seed,
  };
  if (model.dModel % model.heads !== 0) throw new CliError(`${cmd}: --dmodel ${model.dModel} must be a multiple of --heads ${model.heads}`);
  const settings = {
    model,
    steps: requireInt(cmd, 'steps', values.steps, 1) ?? PROFILE_DEFAULTS.steps,
    warmup: requireInt(cmd, 'warmup', values.warmup, 0) ?? PROFILE_DEFAULTS.warmup,
  };
  const top = requireInt(cmd, 'top', values.top, 1) ?? 15;
  await startBench(cmd, values, values.json);
  const result = await runStepProfile(settings);
  const record = startRecord('profile', settings, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      `step: ${result.stepMs.toFixed(0)} ms median of ${result.stepsMs.length} (${result.stepsMs.map((t) => t.toFixed(0)).join(', ')}), loss ${result.loss.toFixed(4)}`,
      `kernel time in the profiled step: ${result.kernelMsTotal.toFixed(0)} ms; resident memory ${result.rssMiB} MiB`,
      textTable(
        ['kernel', 'ms', 'calls', 'share'],
        result.kernels.slice(0, top).map((k) => [k.kernel, k.ms.toFixed(1), k.calls, `${(100 * k.share).toFixed(1)}%`]),
      ),
      `record: ${file}`,
    ].join('\n'),
  );
  return 0;
}

// ---- mla bench train ------------------------------------------------------------------------------

const TRAIN_HELP = `usage: mla bench train --preset NAME [--set key=value ...] [--batch B --seq T --accum A --warmup N --steps N] [options]
Training tokens/s of the preset through the trainer itself (forward, backward, clipping, AdamW, metrics) on
random tokens: median, min and max over the timed steps after the warm-up steps.
  --batch B        rows per micro-batch (default 8)
  --seq T          sequence length (default: the preset's maxSeqLen)
  --accum A        micro-batches per step (default 1)
  --warmup N       untimed steps first (default 2)
  --steps N        timed steps (default 5)
${CPU_HELP}`;

async function benchTrain(argv: string[]): Promise<number> {
  const cmd = 'bench train';
  const { values } = parseFlags(cmd, argv, { ...CPU_FLAGS, ...MODEL_OPTIONS, batch: { type: 'string' }, seq: { type: 'string' }, accum: { type: 'string' }, warmup: { type: 'string' }, steps: { type: 'string' } });
  if (values.help) return console.log(TRAIN_HELP), 0;
  const config = modelConfigFromFlags(cmd, values.preset, values.set);
  const settings = {
    preset: values.preset!,
    batch: requireInt(cmd, 'batch', values.batch, 1) ?? 8,
    seqLen: requireInt(cmd, 'seq', values.seq, 1) ?? config.maxSeqLen,
    accum: requireInt(cmd, 'accum', values.accum, 1) ?? 1,
    warmup: requireInt(cmd, 'warmup', values.warmup, 0) ?? 2,
    steps: requireInt(cmd, 'steps', values.steps, 1) ?? 5,
  };
  await startBench(cmd, values, values.json);
  const result = await runTrainBench(config, settings);
  const record = startRecord('train', { ...settings, config }, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      `${settings.preset}: ${result.tokensPerSec.median.toFixed(0)} tokens/s median of ${result.tokensPerSec.n} steps (min ${result.tokensPerSec.min.toFixed(0)}, max ${result.tokensPerSec.max.toFixed(0)}); ${result.stepMs.median.toFixed(0)} ms per step of ${settings.batch}×${settings.seqLen}×${settings.accum}`,
      `record: ${file}`,
    ].join('\n'),
  );
  return 0;
}

// ---- mla bench decode -----------------------------------------------------------------------------

const DECODE_HELP = `usage: mla bench decode --preset NAME [--set key=value ...] --cache MODE --context N [--steps N] [options]
Milliseconds per decoded token (batch 1, greedy) with N tokens already in the cache: one prefill, two untimed
steps, then --steps timed steps (default 10); median with min and max.
${CPU_HELP}`;

async function benchDecode(argv: string[]): Promise<number> {
  const cmd = 'bench decode';
  const { values } = parseFlags(cmd, argv, { ...CPU_FLAGS, ...MODEL_OPTIONS, cache: { type: 'string' }, context: { type: 'string' }, steps: { type: 'string' } });
  if (values.help) return console.log(DECODE_HELP), 0;
  const config = modelConfigFromFlags(cmd, values.preset, values.set);
  const cache = (values.cache ?? defaultCacheMode(config)) as CacheMode;
  if (!CACHE_MODES.includes(cache)) throw new CliError(`${cmd}: --cache '${values.cache}' is not one of ${CACHE_MODES.join(', ')}`);
  const context = requireInt(cmd, 'context', values.context, 1) ?? 256;
  const steps = requireInt(cmd, 'steps', values.steps, 1) ?? 10;
  await startBench(cmd, values, values.json);
  const result = await runDecodeBench(config, cache, context, steps);
  const record = startRecord('decode', { preset: values.preset, cache, context, steps, config }, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      `${values.preset} ${cache} cache, context ${context}: ${result.msPerToken.median.toFixed(2)} ms/token median of ${result.msPerToken.n} (min ${result.msPerToken.min.toFixed(2)}, max ${result.msPerToken.max.toFixed(2)}); cache ${(result.cacheBytes / 2 ** 20).toFixed(2)} MiB (fp32)`,
      `record: ${file}`,
    ].join('\n'),
  );
  return 0;
}
