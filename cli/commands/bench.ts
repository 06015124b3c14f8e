// mla bench <kind>: benchmarks that write a record to data/bench/<kind>-<timestamp>.json (or the --out file).
// Each kind is one entry of BENCHES with its own flags; train, profile and coverage live in bench-*.ts.
import {
  DECODE_BENCH_DEFAULTS, type DecodeBenchError, type DecodeBenchRow, MATMUL_DEFAULTS, MAX_DECODE_BATCH, type MatmulRow, PREFILL_KINDS,
  type CopyBandwidth, type PrefillKind, runDecodeBench, runMatmulBench, startRecord, writeRecord,
} from '../../lib/bench';
import { stepsSeen } from '../../lib/model/decode-graph';
import { TILE_SEED_TOKENS } from '../../lib/generate/prefill';
import { DECODE_SYNC_CHUNK, DECODE_SYNCS, type DecodeSync } from '../../lib/generate/decode-loop';
import { CliError } from '../errors';
import { type ModelConfig, deriveSizes } from '../../lib/config/model-config';
import { CACHE_MODES, type CacheMode, cacheModesFor, defaultCacheMode } from '../../lib/costs/cache-modes';
import { backendSettings } from '../../lib/settings';
import { MODEL_OPTIONS, modelConfigFromFlags } from '../common';
import { output, parseFlags, requireInt, textTable } from '../common';
import { CPU_FLAGS, CPU_HELP, startBench } from './bench-common';
import { benchCoverage } from './bench-coverage';
import { benchCpuprofile, benchDecodeAb, benchDecodeCheck, benchDecodeGrid, benchDispatch, benchGraphCheck, benchFlash, benchMatmulCheck, benchSummarize, benchTrainAb } from './bench-kernels';
import { benchProfile } from './bench-profile';
import { benchTrain } from './bench-train';

interface BenchKind {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const BENCHES: Record<string, BenchKind> = {
  matmul: { summary: 'GFLOP/s of tf.matMul next to raw BLAS sgemm, per size', run: benchMatmul },
  profile: { summary: 'a training step of a preset by phase and by kernel', run: benchProfile },
  train: { summary: "training tokens/s of a preset through the library's trainer (median of steps after warm-up)", run: benchTrain },
  decode: { summary: 'ms per decode step of a preset in every cache mode, context and batch, against its memory-traffic floor', run: benchDecode },
  coverage: { summary: 'webgpu against cpu: forward, a training step and cached decoding of every attention kind', run: benchCoverage },
  flash: { summary: 'the fused causal attention against the unfused core: errors and time (GPU machine)', run: benchFlash },
  'decode-check': { summary: 'the fused decode attention and the in-place cache write against their references: errors and time (GPU machine)', run: benchDecodeCheck },
  'graph-check': { summary: 'replayed decode steps (step graphs) against eager ones, bit for bit, in every cache mode (GPU machine)', run: benchGraphCheck },
  'matmul-check': { summary: "the project's WebGPU matmul shader: every tile plan against float64, and TFLOP/s (GPU machine)", run: benchMatmulCheck },
  dispatch: { summary: 'host time per WebGPU dispatch, with and without the dispatch caches (GPU machine)', run: benchDispatch },
  cpuprofile: { summary: 'a V8 .cpuprofile summarised by package, function and native caller', run: benchCpuprofile },
  summarize: { summary: 'the numbers of a GPU-machine run folder next to PyTorch, with the ratios', run: benchSummarize },
  'decode-grid': { summary: "a decode-grid.sh folder as one table: ours beside PyTorch, ratios, floors, crossover", run: benchDecodeGrid },
  'decode-ab': { summary: 'a decode-shaders.sh folder as one table: each variant per stage and context, its ratio to the base, floors', run: benchDecodeAb },
  'train-ab': { summary: 'a train-ab.sh folder as one table: each variant per preset and round, its ratio to the base and to PyTorch SDPA', run: benchTrainAb },
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

// ---- shared ----------------------------------------------------------------------------------------

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

// ---- mla bench decode -----------------------------------------------------------------------------

const DECODE_HELP = `usage: mla bench decode --preset NAME [--set key=value ...] [--cache MODE|all|M1,M2] [--contexts 512,2048]
                        [--batch B] [--steps N] [--warmup N] [--prefill real|tiled] [--sync end|step] [options]
Per decode step, with N tokens already cached in each of B sequences (one prefill, --warmup untimed steps, one
step counted through tf.profile, then --steps timed steps, each greedy from the last token):
ms per step and per token, kernels and dispatches per step (and of them the fused decode kernels: cache writes
in place / decode attentions; 0/0 is the tfjs reference path), the bytes the step must read (weights + the cache, fp32) over a
copy bandwidth measured in the same run (the memory-traffic floor) and the ratio to it; for MLA, the context
from which absorbed beats latent and full. Past the preset's maxSeqLen (RoPE models): --set maxSeqLen=N.
Each point's caches are allocated once for all its tokens (no step copies a cache to grow it), it starts with an
empty GPU buffer pool, and a GPU error (out of memory first, then what it caused) makes the point an error row.
  --cache MODE     a cache mode, a list, or all: none and every mode the attention supports (default: the compact one)
  --contexts LIST  tokens cached per sequence (default ${DECODE_BENCH_DEFAULTS.contexts.join(',')}; --context N is one)
  --batch B        sequences decoded together, 1..${MAX_DECODE_BATCH} (default ${DECODE_BENCH_DEFAULTS.batch})
  --steps N        timed steps (default ${DECODE_BENCH_DEFAULTS.steps}); --warmup N untimed steps first (default ${DECODE_BENCH_DEFAULTS.warmup})
  --prefill KIND   real: prefill the whole context (default); tiled: prefill its first ${TILE_SEED_TOKENS} tokens and repeat
                   their cached rows to the context: the step reads the same rows and does the same work, and a point at
                   batch 64 × 32k fills in seconds, not minutes (timing only; recorded in each row)
  --sync WHEN      end: the greedy token stays on the device and only the last token of every ${DECODE_SYNC_CHUNK} steps is read
                   back, as PyTorch eager's loop runs: a step costs the larger of host and GPU time (default); step:
                   the logits come back every step and the next token is chosen on the host: host + GPU + a round trip
${CPU_HELP}`;

function parseDecodeModes(cmd: string, raw: string | undefined, config: ModelConfig): CacheMode[] {
  const supported: CacheMode[] = ['none', ...cacheModesFor(config)];
  if (raw === undefined) return [defaultCacheMode(config)];
  if (raw === 'all') return supported;
  const modes = raw.split(',').map((m) => m.trim()) as CacheMode[];
  for (const m of modes) {
    if (!CACHE_MODES.includes(m)) throw new CliError(`${cmd}: --cache '${m}' is not one of ${CACHE_MODES.join(', ')} (or all)`);
    if (!supported.includes(m)) throw new CliError(`${cmd}: --cache '${m}' does not apply to attention '${config.attention}'; allowed: ${supported.join(', ')} (or all)`);
  }
  return modes;
}

/** The copy bandwidth the floors use, and how each way of timing it read. */
function copyBandwidthLine(c: CopyBandwidth): string {
  const kernel = c.kernelTimed ? `, by kernel time ${c.kernelTimed.gbPerS.toFixed(1)} over ${c.kernelTimed.copies} copies` : ', no kernel time on this backend';
  return `copy bandwidth ${c.gbPerS.toFixed(1)} GB/s (host-timed: fastest of ${c.msPerCopy.n} ${c.hostGbPerS.toFixed(1)}, median ${c.gbPerSMedian.toFixed(1)}${kernel}): ${c.method} of ${(c.bytes / 2 ** 20).toFixed(0)} MiB, read + write`;
}

async function benchDecode(argv: string[]): Promise<number> {
  const cmd = 'bench decode';
  const { values } = parseFlags(cmd, argv, {
    ...CPU_FLAGS, ...MODEL_OPTIONS, cache: { type: 'string' }, context: { type: 'string' }, contexts: { type: 'string' },
    batch: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' }, prefill: { type: 'string' }, sync: { type: 'string' },
  });
  if (values.help) return console.log(DECODE_HELP), 0;
  const sync = (values.sync ?? DECODE_BENCH_DEFAULTS.sync) as DecodeSync;
  if (!DECODE_SYNCS.includes(sync)) throw new CliError(`${cmd}: --sync '${values.sync}' must be one of ${DECODE_SYNCS.join(', ')}`);
  const fill = (values.prefill ?? DECODE_BENCH_DEFAULTS.prefill) as PrefillKind;
  if (!PREFILL_KINDS.includes(fill)) throw new CliError(`${cmd}: --prefill '${values.prefill}' must be one of ${PREFILL_KINDS.join(', ')}`);
  const config = modelConfigFromFlags(cmd, values.preset, values.set);
  if (values.context !== undefined && values.contexts !== undefined) throw new CliError(`${cmd}: give --context N or --contexts LIST, not both`);
  const contexts = values.context !== undefined ? [requireInt(cmd, 'context', values.context, 1)!] : parseSizes(cmd, values.contexts, [...DECODE_BENCH_DEFAULTS.contexts]);
  const batch = requireInt(cmd, 'batch', values.batch, 1) ?? DECODE_BENCH_DEFAULTS.batch;
  if (batch > MAX_DECODE_BATCH) throw new CliError(`${cmd}: --batch must be 1..${MAX_DECODE_BATCH}, got ${batch}`);
  const settings = {
    preset: values.preset!,
    modes: parseDecodeModes(cmd, values.cache, config),
    contexts,
    batch,
    steps: requireInt(cmd, 'steps', values.steps, 1) ?? DECODE_BENCH_DEFAULTS.steps,
    warmup: requireInt(cmd, 'warmup', values.warmup, 0) ?? DECODE_BENCH_DEFAULTS.warmup,
    prefill: fill,
    sync,
  };
  const longest = Math.max(...contexts) + settings.warmup + 1 + settings.steps;
  if (longest > config.maxSeqLen) {
    const fix = deriveSizes(config).learnedPositions ? 'learned positions cannot go past it; use a RoPE preset' : `pass --set maxSeqLen=${longest}`;
    throw new CliError(`${cmd}: context ${Math.max(...contexts)} + ${settings.warmup + 1 + settings.steps} steps exceeds maxSeqLen ${config.maxSeqLen}; ${fix}`);
  }
  await startBench(cmd, values, values.json);
  const header = ['cache', 'context', 'B', 'ms/step', 'ms/token', 'kernels', 'dispatches', 'writes/attn', 'MB read', 'floor ms', '× floor', 'replayed'];
  const line = (r: DecodeBenchRow | DecodeBenchError) =>
    'error' in r
      ? [r.cache, r.context, r.batch, r.error]
      : [r.cache, r.context, r.batch, fmt(r.msPerStep.median, 2), fmt(r.msPerToken, 3), r.kernelsPerStep, r.gpuDispatchesPerStep ?? r.dispatchesPerStep,
          `${r.fusedPerStep.cacheWrite}/${r.fusedPerStep.attention}`, fmt(r.stepBytes.total / 1e6), fmt(r.floorMs, 2), fmt(r.ratioToFloor, 1),
          r.graphs ? `${r.graphs.replayed}/${stepsSeen(r.graphs)}` : 'off'];
  if (!values.json) console.error(header.join('  '));
  const started = startRecord('decode', { ...settings, config, backendSettings: backendSettings({ backend: values.backend }) }, null);
  // The record is written after every cell (complete: false), so a run cut short (a device call's time limit) keeps
  // what it measured; the last write, with the crossover, says complete: true.
  const result = await runDecodeBench(config, settings, (r, soFar) => {
    if (!values.json) console.error(line(r).join('  '));
    writeRecord({ ...started, results: soFar }, values.out);
  });
  const record = { ...started, results: result };
  const file = writeRecord(record, values.out);
  const x = result.crossover;
  const crossover = !x
    ? []
    : [x.context === null
        ? `absorbed is not faster than both latent and full at the largest measured context (absorbed / best: ${x.ratios.map((q) => `${q.context}: ${q.absorbedOverBest.toFixed(2)}`).join(', ')})`
        : `absorbed faster than latent and full from context ${x.context}${x.atOrBelowRange ? ' (already at the smallest measured)' : ''}`];
  // On the null device (MLA_WEBGPU_NULL_DEVICE) only the host's time is real: no copy, no floor, no crossover.
  const hostOnly = record.backend.backend === 'webgpu' && record.backend.backendSettings.webgpu.nullDevice;
  output(values.json, { ...record, file }, () =>
    [
      ...(hostOnly ? ['null device (MLA_WEBGPU_NULL_DEVICE=on): ms/step is host time alone; the copy bandwidth, floors and crossover below mean nothing'] : []),
      copyBandwidthLine(result.copyBandwidth),
      textTable(header, result.rows.filter((r) => !('error' in r)).map(line)),
      ...result.rows.filter((r) => 'error' in r).map((r) => `${line(r).slice(0, 3).join(' ')}: ${(r as DecodeBenchError).error}`),
      ...crossover,
      `record: ${file}`,
    ].join('\n'),
  );
  return 0;
}
