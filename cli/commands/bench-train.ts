// mla bench train: training tokens/s of a preset through the library's trainer (lib/bench/train.ts).
import * as fs from 'node:fs';
import { TRAIN_BENCH_DEFAULTS, type TrainBenchSettings, runTrainBench, startRecord, writeRecord } from '../../lib/bench';
import { CliError } from '../errors';
import { MODEL_OPTIONS, modelConfigFromFlags, output, parseFlags, requireInt, requireNumber, textTable } from '../common';
import { CPU_FLAGS, CPU_HELP, finishBench, requireSeconds, startBench } from './bench-common';

const D = TRAIN_BENCH_DEFAULTS;

export const TRAIN_HELP = `usage: mla bench train --preset NAME [--set key=value ...] [--tokens-file F.u16] [--batch B --seq T --accum A]
                       [--warmup N --steps N --max-seconds S] [--profile] [--cpu-profile F] [options]
Training tokens/s of the preset through the library's trainer (lib/train: the step of \`mla train\`, with its
micro-batches, clipping, AdamW on its cosine schedule and its dropout seeds) in a temporary run folder:
median, quartiles, min and max over the steps after the warm-up, from the trainer's own per-step metrics.
The GPU work runs inside a Dawn error scope: a dropped command buffer ends the run with an error (exit 1).
  --tokens-file F  little-endian uint16 token ids (data/tokens/*.train.u16, or .device/data/train-v10000.u16
                   from scripts/device/pack.sh); default: uniformly random tokens
  --batch B        rows per micro-batch (default ${D.batch})
  --seq T          tokens per row (default: the preset's maxSeqLen)
  --accum A        micro-batches per optimizer step (default ${D.accum})
  --warmup N       untimed steps first (default ${D.warmup})
  --steps N        timed steps (default ${D.steps})
  --max-seconds S  stop after S seconds of training, keeping at least warmup + 3 steps (default: no cap)
  --lr X           peak learning rate (default ${D.lr}); --seed S seeds init, data order and dropout (default ${D.seed})
  --profile        after the timed steps: seconds of forward, forward + backward and AdamW, and tf.profile's
                   kernels of one forward + backward (GPU time where the backend has timestamp queries)
  --cpu-profile F  a V8 CPU profile of the timed steps to F (.cpuprofile), summarised in the record
${CPU_HELP}
The record's settings hold these values and the resolved config; its backend field the backend settings.`;

export async function benchTrain(argv: string[]): Promise<number> {
  const cmd = 'bench train';
  const { values } = parseFlags(cmd, argv, {
    ...CPU_FLAGS,
    ...MODEL_OPTIONS,
    'tokens-file': { type: 'string' },
    batch: { type: 'string' },
    seq: { type: 'string' },
    accum: { type: 'string' },
    warmup: { type: 'string' },
    steps: { type: 'string' },
    'max-seconds': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'cpu-profile': { type: 'string' },
  });
  if (values.help) return console.log(TRAIN_HELP), 0;
  const config = modelConfigFromFlags(cmd, values.preset, values.set);
  const lr = requireNumber(cmd, 'lr', values.lr);
  if (lr !== undefined && !(lr > 0)) throw new CliError(`${cmd}: --lr must be a positive number, got '${values.lr}'`);
  const settings: TrainBenchSettings = {
    batch: requireInt(cmd, 'batch', values.batch, 1) ?? D.batch,
    seqLen: requireInt(cmd, 'seq', values.seq, 1) ?? config.maxSeqLen,
    accum: requireInt(cmd, 'accum', values.accum, 1) ?? D.accum,
    warmup: requireInt(cmd, 'warmup', values.warmup, 0) ?? D.warmup,
    steps: requireInt(cmd, 'steps', values.steps, 1) ?? D.steps,
    maxSeconds: requireSeconds(cmd, 'max-seconds', values['max-seconds']) ?? D.maxSeconds,
    lr: lr ?? D.lr,
    seed: requireInt(cmd, 'seed', values.seed, 0) ?? D.seed,
    tokensFile: values['tokens-file'] ?? null,
    profile: values.profile === true,
    cpuProfile: values['cpu-profile'] ?? null,
  };
  if (settings.seqLen > config.maxSeqLen) {
    throw new CliError(`${cmd}: --seq ${settings.seqLen} exceeds ${values.preset}'s maxSeqLen ${config.maxSeqLen}; lower --seq or pass --set maxSeqLen=${settings.seqLen}`);
  }
  if (settings.tokensFile !== null && !fs.existsSync(settings.tokensFile)) {
    throw new CliError(`${cmd}: --tokens-file ${settings.tokensFile} does not exist; pass a uint16 token file (data/tokens/*.train.u16, or .device/data/train-v10000.u16 from scripts/device/pack.sh)`);
  }
  const init = await startBench(cmd, values, values.json);
  const perStep = settings.batch * settings.seqLen * settings.accum;
  const result = await runTrainBench(config, settings, (st) => {
    if (!values.json) console.error(`step ${st.step}: loss ${st.loss.toFixed(4)}, ${st.seconds.toFixed(3)} s, ${st.tokensPerSec.toFixed(0)} tokens/s`);
  });
  const record = startRecord('train', { preset: values.preset!, overrides: values.set ?? [], ...settings, tokensPerStep: perStep, config }, result);
  const file = writeRecord(record, values.out);
  if (result.error) console.error(`mla: bench train: ${result.error}`);
  output(values.json, { ...record, file }, () => {
    const t = result.tokensPerSec;
    const lines = [
      t
        ? `${values.preset} on ${init.backend} (${init.device}): ${t.median.toFixed(0)} tokens/s median of ${t.n} steps (p25 ${t.p25.toFixed(0)}, p75 ${t.p75.toFixed(0)}, min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}); ${(1000 * result.stepSeconds!.median).toFixed(0)} ms per step of ${settings.batch}×${settings.seqLen}×${settings.accum}${result.cappedBySeconds ? `; stopped by --max-seconds after ${result.stepsRun} steps` : ''}`
        : `${values.preset}: no timed steps (${result.stepsRun} run)`,
      `loss ${result.loss.first?.toFixed(4) ?? '-'} → ${result.loss.last?.toFixed(4) ?? '-'} on ${result.data.source === 'file' ? `${result.data.file} (${result.data.tokens.toLocaleString('en-US')} tokens)` : 'random tokens'}`,
    ];
    const p = result.profile;
    if (p) {
      lines.push(`phases (median s): forward ${p.forwardSeconds.median.toFixed(3)}, forward + backward ${p.forwardBackwardSeconds.median.toFixed(3)}, AdamW ${p.adamwSeconds.median.toFixed(3)}; ${p.kernelCalls} kernels, ${p.timedKernels} timed`);
      lines.push(textTable(['kernel', 'ms', 'calls', 'share'], p.kernels.slice(0, 15).map((k) => [k.kernel, k.ms.toFixed(1), k.calls, `${(100 * k.share).toFixed(1)}%`])));
    }
    if (result.cpuProfile) lines.push(`host: ${result.cpuProfile.byPackage.slice(0, 6).map((s) => `${s.name} ${(100 * s.share).toFixed(0)}%`).join(', ')}`);
    lines.push(`record: ${file}`);
    return lines.join('\n');
  });
  return finishBench(result.error ? 1 : 0);
}
