// mla bench flash | decode-check | graph-check | matmul-check | dispatch | cpuprofile | summarize: single-kernel checks for the GPU machine
// (lib/bench/kernel-checks.ts, lib/bench/decode-check.ts, lib/bench/graph-check.ts)
// and the summary of a V8 CPU profile (lib/bench/cpu-profile.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CpuProfile, runGraphCheck, summarizeDecodeAb, summarizeDecodeGrid, summarizeTrainAb, summarizeDeviceRuns, runDecodeCheck, runDispatchBench, runFlashCheck, MATMUL_VARIANTS, runMatmulCheck, unknownMatmulVariants, startRecord, summarizeCpuProfile, writeRecord } from '../../lib/bench';
import { writeFileAtomic } from '../../lib/checkpoint/atomic';
import { backendSettings } from '../../lib/settings';
import { initBackend } from '../../lib/backend';
import { CliError } from '../errors';
import { output, parseFlags, requireInt, textTable } from '../common';
import { CPU_FLAGS, CPU_HELP, finishBench, startBench } from './bench-common';

export const FLASH_HELP = `usage: mla bench flash [--reps N] [--backend webgpu] [options]
The fused causal-attention kernels against the unfused core on the same backend (default webgpu): for the 35M
training shape, ragged lengths, other head dims and one query, the output and dQ, dK, dV as the largest
difference relative to the reference's largest magnitude (tolerance 1e-4), then forward + backward time of
each, median over --reps (default 10) after two untimed ones. Exit 1 when a shape fails.
${CPU_HELP}`;

export async function benchFlash(argv: string[]): Promise<number> {
  const cmd = 'bench flash';
  const { values } = parseFlags(cmd, argv, { ...CPU_FLAGS, reps: { type: 'string' } });
  if (values.help) return console.log(FLASH_HELP), 0;
  const reps = requireInt(cmd, 'reps', values.reps, 1) ?? 10;
  await startBench(cmd, { ...values, backend: values.backend ?? 'webgpu' }, values.json);
  const result = await runFlashCheck(reps, undefined, (r) => {
    if (!values.json) console.error(`BH ${r.BH} T ${r.T} D ${r.D} Dv ${r.Dv}: ${r.ok ? 'ok' : `FAILED${r.error ? ` (${r.error})` : ''}`}`);
  });
  const record = startRecord('flash', { reps }, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      textTable(
        ['BH', 'T', 'D', 'Dv', 'ok', 'worst rel', 'fused ms', 'unfused ms'],
        result.rows.map((r) => [r.BH, r.T, r.D, r.Dv, r.ok ? 'ok' : 'FAIL', r.relErr ? Math.max(...Object.values(r.relErr)).toExponential(1) : (r.error ?? '-'), r.forwardBackwardMs?.fused.median.toFixed(2) ?? '-', r.forwardBackwardMs?.unfused.median.toFixed(2) ?? '-']),
      ),
      `record: ${file}`,
    ].join('\n'),
  );
  return finishBench(result.ok ? 0 : 1);
}

export const DECODE_CHECK_HELP = `usage: mla bench decode-check [--reps N] [--backend webgpu] [options]
The fused decode kernels against their tfjs references on the same backend (default webgpu): the decode attention
at the 35M shapes of every cache mode (context 2048), batch 8 on a ragged buffer, a prefill, GQA and the 300M
absorbed shape, as the largest difference relative to the reference's largest magnitude (tolerance 1e-4); and the
cache write in place against a concat, which must agree exactly over the whole buffer. Then the time of one call
of each, median over --reps (default 10) after two untimed ones. Exit 1 when a row fails, or the backend lacks
the kernels (MLA_WEBGPU_FUSED without 'cache' or 'decode').
${CPU_HELP}`;

export async function benchDecodeCheck(argv: string[]): Promise<number> {
  const cmd = 'bench decode-check';
  const { values } = parseFlags(cmd, argv, { ...CPU_FLAGS, reps: { type: 'string' } });
  if (values.help) return console.log(DECODE_CHECK_HELP), 0;
  const reps = requireInt(cmd, 'reps', values.reps, 1) ?? 10;
  await startBench(cmd, { ...values, backend: values.backend ?? 'webgpu' }, values.json);
  const result = await runDecodeCheck(reps, (r) => {
    if (!values.json) console.error(`${r.what}: ${r.ok ? 'ok' : `FAILED${r.error ? ` (${r.error})` : ''}`}`);
  });
  const record = startRecord('decode-check', { reps }, result);
  const file = writeRecord(record, values.out);
  const ms = (x: { median: number } | undefined) => x?.median.toFixed(3) ?? '-';
  output(values.json, { ...record, file }, () =>
    [
      textTable(
        ['decode attention', 'ok', 'fused', 'rel err', 'fused ms', 'reference ms'],
        result.attention.map((r) => [r.what, r.ok ? 'ok' : 'FAIL', r.fused ? 'yes' : 'no', r.relErr?.toExponential(1) ?? (r.error ?? '-'), ms(r.ms?.fused), ms(r.ms?.reference)]),
      ),
      textTable(
        ['cache write', 'ok', 'in place', 'max |Δ|', 'in-place ms', 'concat ms'],
        result.cacheWrite.map((r) => [r.what, r.ok ? 'ok' : 'FAIL', r.inPlace ? 'yes' : 'no', r.maxAbsDiff ?? (r.error ?? '-'), ms(r.ms?.inPlace), ms(r.ms?.reference)]),
      ),
      `record: ${file}`,
    ].join('\n'),
  );
  return finishBench(result.ok ? 0 : 1);
}

export const GRAPH_CHECK_HELP = `usage: mla bench graph-check [--prompt N] [--steps N] [--out DIR|F.json] [--json]
Replayed decode steps (step graphs, MLA_WEBGPU_DECODE_GRAPH; on here whatever the environment says) against
eager ones on WebGPU: every cache mode of the 35M RoPE presets at batch 1, absorbed at batch 4, absorbed and
MHA at batch 64, and 35m-mla-norope (learned positions). Each decodes a prompt of --prompt tokens (default
40) then --steps teacher-forced steps (default 120, crossing the caches' 64-row growths) twice from one model,
eager and with graphs, and compares every step's logits bit for bit. Also each step's wall time (with its
logits read) both ways, and the graphs' counts. Exit 1 when a case differs or, where it can, never replays.`;

export async function benchGraphCheck(argv: string[]): Promise<number> {
  const cmd = 'bench graph-check';
  const { values } = parseFlags(cmd, argv, { prompt: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' } });
  if (values.help) return console.log(GRAPH_CHECK_HELP), 0;
  const prompt = requireInt(cmd, 'prompt', values.prompt, 1) ?? 40;
  const steps = requireInt(cmd, 'steps', values.steps, 2) ?? 120;
  const s = backendSettings({ backend: 'webgpu' });
  const init = await initBackend({ ...s, webgpu: { ...s.webgpu, decodeGraph: true } });
  if (!values.json) console.error(`backend: ${init.backend} (${init.device})`);
  const result = await runGraphCheck(prompt, steps, undefined, (r) => {
    if (!values.json) console.error(`${r.what}: ${r.ok ? 'ok' : `FAILED (${r.error})`}`);
  });
  const record = startRecord('graph-check', { prompt, steps }, result);
  const file = writeRecord(record, values.out);
  const ms = (x: { median: number } | undefined) => x?.median.toFixed(3) ?? '-';
  output(values.json, { ...record, file }, () =>
    [
      textTable(
        ['case', 'ok', 'steps differing', 'max |Δ|', 'eager ms', 'graphs ms', 'replayed', 'recorded', 'eager', 'graphs', 'dispatches', 'first refusal'],
        result.rows.map((r) => [
          r.what, r.ok ? 'ok' : 'FAIL', r.stepsDiffering ?? (r.error ?? '-'), r.maxAbsDiff ?? '-', ms(r.ms?.eager), ms(r.ms?.graphs),
          r.graphs?.replayed ?? '-', r.graphs?.recorded ?? '-', r.graphs?.eager ?? '-', r.graphs?.graphs ?? '-', r.graphs?.dispatches ?? '-', r.graphs?.refusals[0]?.slice(0, 60) ?? '-',
        ]),
      ),
      `record: ${file}`,
    ].join('\n'),
  );
  return finishBench(result.ok ? 0 : 1);
}

export const DISPATCH_HELP = `usage: mla bench dispatch [--ops N] [--out DIR|F.json] [--json]
Host time per WebGPU dispatch: N additions of 65,536 floats (default 3000) issued back to back, timed until the
last is issued and until its result is read, in three rounds each: tfjs's own dispatch, then with the bind
group layout memo, then with the bind group cache too (the backend starts with both off for this).`;

export async function benchDispatch(argv: string[]): Promise<number> {
  const cmd = 'bench dispatch';
  const { values } = parseFlags(cmd, argv, { ops: { type: 'string' }, out: { type: 'string' } });
  if (values.help) return console.log(DISPATCH_HELP), 0;
  const ops = requireInt(cmd, 'ops', values.ops, 1) ?? 3000;
  const s = backendSettings({ backend: 'webgpu' });
  const init = await initBackend({ ...s, webgpu: { ...s.webgpu, layoutMemo: false, bindGroupCache: false } });
  if (!values.json) console.error(`backend: ${init.backend} (${init.device})`);
  const result = await runDispatchBench(ops);
  const record = startRecord('dispatch', { ops }, result);
  const file = writeRecord(record, values.out);
  const h = result.hostUsPerOp;
  output(values.json, { ...record, file }, () =>
    [
      `host µs per dispatch (median of 3 rounds of ${ops}): tfjs ${h.tfjs.median.toFixed(1)}, + layout memo ${h.layoutMemo.median.toFixed(1)}, + bind group cache ${h.bindGroupCache.median.toFixed(1)}${result.gpuError ? `; ${result.gpuError}` : ''}`,
      `record: ${file}`,
    ].join('\n'),
  );
  return finishBench(result.gpuError ? 1 : 0);
}

export const CPUPROFILE_HELP = `usage: mla bench cpuprofile FILE.cpuprofile [--top N] [--out F.json] [--json]
Where a Node process spent its time, from a V8 .cpuprofile (node --cpu-prof, or mla bench train --cpu-profile):
self time by package (tfjs-core, tfjs-backend-webgpu, the Dawn binding, this lab, node internals), by function,
the idle share, and native time by its JavaScript caller; the --top largest of each (default 25).`;

export async function benchCpuprofile(argv: string[]): Promise<number> {
  const cmd = 'bench cpuprofile';
  const { values, positionals } = parseFlags(cmd, argv, { top: { type: 'string' }, out: { type: 'string' } }, true);
  if (values.help) return console.log(CPUPROFILE_HELP), 0;
  if (positionals.length !== 1) throw new CliError(`${cmd}: give one .cpuprofile file, got ${positionals.length}`, CPUPROFILE_HELP);
  const top = requireInt(cmd, 'top', values.top, 1) ?? 25;
  const [file] = positionals;
  if (!fs.existsSync(file)) throw new CliError(`${cmd}: ${file} does not exist`);
  let prof: CpuProfile;
  try {
    prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  } catch (err) {
    throw new CliError(`${cmd}: ${file} is not a JSON .cpuprofile (${(err as Error).message})`);
  }
  if (!Array.isArray(prof.nodes) || !Array.isArray(prof.samples)) throw new CliError(`${cmd}: ${file} has no nodes and samples; is it a V8 .cpuprofile?`);
  const summary = { profile: file, ...summarizeCpuProfile(prof, top) };
  if (values.out) {
    fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
    writeFileAtomic(values.out, JSON.stringify(summary, null, 2) + '\n');
  }
  output(values.json, summary, () =>
    [
      `${file}: ${summary.wallMs} ms wall, ${summary.sampledMs} ms sampled`,
      textTable(['package', 'ms', 'share'], summary.byPackage.map((p) => [p.name, p.ms, `${(100 * p.share).toFixed(1)}%`])),
      textTable(['function', 'ms', 'share'], summary.byFunction.slice(0, 15).map((p) => [p.name, p.ms, `${(100 * p.share).toFixed(1)}%`])),
    ].join('\n'),
  );
  return 0;
}

export const MATMUL_CHECK_HELP = `usage: mla bench matmul-check [--reps N] [--no-speed] [--variants A,B,…] [--out DIR|F.json] [--json]
The project's WebGPU matmul shader: every forced tile plan (with and without split-K) on every transpose case,
broadcast batch and ragged edge against a float64 loop and tfjs's shader (tolerance 1e-5), the dropout-mask
shader against the host bit for bit, then TFLOP/s of tfjs's shader, forced plans and the settings' policy at
the products of a 35M training step, second of two rounds: GPU time per product from the kernel timer over --reps
products (default 10; timestamp queries, the split-K sum included) where the backend has one, and host time per
product as the difference of runs of --reps and 3·--reps products (the readback's latency, ~0.1 ms a product over
10, taken out; before 2026-12-08 it was in every number). --variants times only
those (labels, comma-separated: ${MATMUL_VARIANTS.join(', ')}). Exit 1 on a failure.`;

export async function benchMatmulCheck(argv: string[]): Promise<number> {
  const cmd = 'bench matmul-check';
  const { values } = parseFlags(cmd, argv, { reps: { type: 'string' }, 'no-speed': { type: 'boolean', default: false }, variants: { type: 'string' }, out: { type: 'string' } });
  if (values.help) return console.log(MATMUL_CHECK_HELP), 0;
  const reps = requireInt(cmd, 'reps', values.reps, 1) ?? 10;
  const variants = values.variants === undefined ? undefined : values.variants.split(',').map((v) => v.trim()).filter((v) => v.length > 0);
  const why = unknownMatmulVariants(variants ?? []);
  if (why) throw new CliError(`${cmd}: --variants ${why}`);
  const init = await initBackend(backendSettings({ backend: 'webgpu' }));
  if (!values.json) console.error(`backend: ${init.backend} (${init.device})`);
  const result = await runMatmulCheck(reps, {
    speed: values['no-speed'] !== true,
    variants,
    onSpeedRow: (r) => {
      // GPU-timed TFLOP/s where the backend has timestamp queries, else host-timed (readback latency taken out).
      const timed = Object.keys(r.kernelTflops).length > 0;
      const tf = timed ? r.kernelTflops : r.tflops;
      if (!values.json) console.error(`${r.name}: ${Object.entries(tf).map(([l, t]) => `${l} ${t.toFixed(1)}`).join(', ')} TFLOP/s (${timed ? 'GPU' : 'host'}-timed)`);
    },
  });
  const record = startRecord('matmul-check', { reps, speed: values['no-speed'] !== true, variants: variants ?? null }, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      `${result.ok ? 'ok' : 'FAILED'}: ${result.checks} products, worst tiled error ${result.worstTiledErr.toExponential(2)}, ${result.failed.length} failed; masks ${result.masks.every((m) => m.ok) ? 'equal' : 'DIFFER'}${result.error ? `; ${result.error}` : ''}`,
      result.autoOverTfjs ? `policy over tfjs's shader: ${result.autoOverTfjs.median.toFixed(2)}× median (min ${result.autoOverTfjs.min.toFixed(2)}, max ${result.autoOverTfjs.max.toFixed(2)})` : '',
      `record: ${file}`,
    ].filter(Boolean).join('\n'),
  );
  return finishBench(result.ok ? 0 : 1);
}

export const SUMMARIZE_HELP = `usage: mla bench summarize [--dir data/bench/device] [--out F.json] [--json]
The numbers of a GPU-machine run (DIR/run-all/: coverage, training and decoding on WebGPU, PyTorch on the same
GPU; DIR/diagnose/ when there) in one table with the ratios ours / PyTorch in speed. Reads the old scripts'
files and mla bench records alike.`;

export async function benchSummarize(argv: string[]): Promise<number> {
  const cmd = 'bench summarize';
  const { values } = parseFlags(cmd, argv, { dir: { type: 'string' }, out: { type: 'string' } });
  if (values.help) return console.log(SUMMARIZE_HELP), 0;
  const dir = path.resolve(values.dir ?? path.join('data', 'bench', 'device'));
  if (!fs.existsSync(dir)) throw new CliError(`${cmd}: --dir ${dir} does not exist`);
  const summary = summarizeDeviceRuns(dir);
  if (values.out) {
    fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
    writeFileAtomic(values.out, JSON.stringify(summary, null, 1) + '\n');
  }
  output(true, summary, () => '');
  return 0;
}

export const DECODE_GRID_HELP = `usage: mla bench decode-grid DIR [--json]
The folder scripts/device/decode-grid.sh wrote (ours-*.json records, torch-decode.jsonl) as one table: per preset,
batch, cache mode and context, our median ms per step (and its quartiles; sync: end, greedy on the device as PyTorch's
loop runs, or step, the logits read back every step) beside PyTorch's from the same call, the
ratio ours / PyTorch, the GPU dispatches and the decode attention's GPU ms a step, the floor and the multiple of it, the
TFLOP/s the step reaches (batch × decodeFlopsPerToken over its time: fp32 SIMT peaks near 67 on an H200/H100);
then the crossover context per preset and batch, each record's copy bandwidth, and PyTorch's points ours never
reached. A record cut short (complete: false) still gives the cells it finished.`;

export async function benchDecodeGrid(argv: string[]): Promise<number> {
  const cmd = 'bench decode-grid';
  const { values, positionals } = parseFlags(cmd, argv, {}, true);
  if (values.help) return console.log(DECODE_GRID_HELP), 0;
  if (positionals.length !== 1) throw new CliError(`${cmd}: give one folder (decode-grid.sh's $OUT), e.g. mla bench decode-grid data/bench/device/decode-variants-2026-12-04c-h200/default`);
  const s = summarizeDecodeGrid(path.resolve(positionals[0]));
  const f = (x: number | null, d = 2) => (x === null ? '—' : x.toFixed(d));
  output(values.json, s, () =>
    [
      textTable(
        ['preset', 'cache', 'B', 'context', 'ours ms', 'p25–p75', 'sync', 'PyTorch ms', 'ours/PyTorch', 'dispatches', 'replayed', 'attn GPU ms', 'floor ms', '× floor', 'TFLOP/s', 'record'],
        s.cells.map((c) => [c.preset, c.cache, c.batch, c.context, f(c.oursMs), `${f(c.oursP25)}–${f(c.oursP75)}`, c.sync, f(c.torchMs), f(c.oursOverTorch), c.gpuDispatchesPerStep ?? '—',
          c.replayed ? `${c.replayed.steps}/${c.replayed.of}` : 'off', f(c.attentionMs), f(c.floorMs), f(c.ratioToFloor, 1), f(c.tflops, 2), `${c.record}${c.complete ? '' : ' (cut short)'}`]),
      ),
      ...s.crossovers.map((x) => `${x.preset} batch ${x.batch}: ${x.context === null ? 'absorbed not faster than latent and full at the largest context measured with all three' : `absorbed faster than latent and full from context ${x.context}${x.atOrBelowRange ? ' (already at the smallest)' : ''}`} (absorbed / best: ${x.ratios.map((q) => `${q.context}: ${q.absorbedOverBest.toFixed(2)}`).join(', ')})`),
      ...s.records.map((r) => `${r.file}: copy bandwidth ${r.copyBandwidth.gbPerS.toFixed(1)} GB/s (${r.copyBandwidth.method}${r.copyBandwidth.kernelTimed ? ', kernel-timed' : ', host-timed'})${r.complete ? '' : ', cut short'}`),
      ...s.errors.map((e) => `failed: ${e.preset} ${e.cache} B${e.batch} @${e.context} (${e.record}): ${e.error}`),
      ...(s.torchOnly.length ? [`PyTorch only (ours never reached): ${s.torchOnly.map((t) => `${t.preset} ${t.cache} B${t.batch} @${t.context} ${t.torchMs.toFixed(2)}`).join('; ')}`] : []),
    ].join('\n'),
  );
  return 0;
}

export const TRAIN_AB_HELP = `usage: mla bench train-ab DIR [--base VARIANT] [--json]
The folder scripts/device/train-ab.sh wrote (ours-PRESET-VARIANT-rN.json records of \`mla bench train\`, alternating
rounds in one call, and torch-PRESET-IMPL.json of scripts/torch/bench_train.py) as one table: per preset, each
variant's median tokens/s per round, their mean, its ratio to the base variant and to PyTorch's SDPA from the same
folder, and the settings that differ from the base's (as the records name them).
  --base VARIANT   the variant the ratios are to (default: the first that ran)`;

export async function benchTrainAb(argv: string[]): Promise<number> {
  const cmd = 'bench train-ab';
  const { values, positionals } = parseFlags(cmd, argv, { base: { type: 'string' } }, true);
  if (values.help) return console.log(TRAIN_AB_HELP), 0;
  if (positionals.length !== 1) throw new CliError(`${cmd}: give one folder (train-ab.sh's, unpacked from train-ab.tgz), e.g. mla bench train-ab data/bench/device/train-ab-2026-12-07f-h100/mla-35m`);
  const s = summarizeTrainAb(path.resolve(positionals[0]), values.base);
  const f = (x: number | null, d = 2) => (x === null ? '—' : x.toFixed(d));
  output(values.json, s, () =>
    s.presets
      .map((p) =>
        [
          textTable(
            ['preset', 'variant', 'tokens/s by round', 'mean', '÷ base', '÷ PyTorch SDPA', 'settings (against the base)'],
            p.variants.map((v) => [p.preset, v.variant === p.base ? `${v.variant} (base)` : v.variant, v.rounds.map((r) => Math.round(r)).join(', '), Math.round(v.mean), f(v.overBase, 3), f(v.overTorch, 3), Object.entries(v.settings).map(([k, x]) => `${k}=${JSON.stringify(x)}`).join(' ')]),
          ),
          ...p.torch.map((t) => `PyTorch ${t.impl} (${t.deviceName}, fp32${t.tf32 === false ? ', TF32 off' : t.tf32 ? ', TF32 on' : ''}): ${Math.round(t.tokensPerSec)} tokens/s`),
        ].join('\n'),
      )
      .join('\n\n'),
  );
  return 0;
}

export const DECODE_AB_HELP = `usage: mla bench decode-ab DIR [--base VARIANT] [--json]
The folder scripts/device/decode-shaders.sh wrote (ab/NAME-VARIANT.json records of \`mla bench decode\`, dc*.json of
\`mla bench decode-check\`) as one table: per stage (a cache mode and batch) and context, each variant's median ms a
step and its decode attention's GPU ms, its ratio to the base variant of the same call, and its multiple of the
memory-traffic floor; then each decode-check's verdict. A record cut short still gives the points it finished.
  --base VARIANT   the variant the ratios are to (default auto; a stage without it: its first variant by name)`;

export async function benchDecodeAb(argv: string[]): Promise<number> {
  const cmd = 'bench decode-ab';
  const { values, positionals } = parseFlags(cmd, argv, { base: { type: 'string' } }, true);
  if (values.help) return console.log(DECODE_AB_HELP), 0;
  if (positionals.length !== 1) throw new CliError(`${cmd}: give one folder (decode-shaders.sh's /tmp/r), e.g. mla bench decode-ab data/bench/device/decode-shaders-2026-12-07-h100 --base rows`);
  const s = summarizeDecodeAb(path.resolve(positionals[0]), values.base ?? 'auto');
  const f = (x: number | null, d = 2) => (x === null || Number.isNaN(x) ? '—' : x.toFixed(d));
  output(values.json, s, () =>
    [
      textTable(
        ['stage', 'context', 'variant', 'ms/step', 'attn GPU ms', '÷ base', '× floor', 'floor ms', 'error'],
        s.cells.flatMap((c) => [
          ...c.variants.map((v) => [c.stage, c.context, v.variant === s.bases[c.stage] ? `${v.variant} (base)` : v.variant, f(v.ms), f(v.attentionMs), f(v.overBase), f(v.ratioToFloor, 1), f(c.floorMs, 3), '']),
          ...c.errors.map((e) => [c.stage, c.context, e.variant, 'failed', '', '', '', '', e.error]),
        ]),
      ),
      ...s.checks.map((c) => `${c.file}: ${c.ok ? 'ok' : 'FAILED'}, ${c.cases} cases, largest relative error ${c.maxRelErr.toExponential(1)}`),
      ...s.incomplete.map((f2) => `${f2}: cut short (its stage's time limit); its other points were not reached`),
    ].join('\n'),
  );
  return 0;
}
