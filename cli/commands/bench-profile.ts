// mla bench profile: where a training step of a real preset goes, by phase and by kernel (lib/bench/profile.ts).
import { PROFILE_DEFAULTS, runStepProfile, startRecord, writeRecord } from '../../lib/bench';
import { CliError } from '../errors';
import { MODEL_OPTIONS, modelConfigFromFlags, output, parseFlags, requireInt, textTable } from '../common';
import { CPU_FLAGS, CPU_HELP, finishBench, startBench } from './bench-common';

const D = PROFILE_DEFAULTS;

export const PROFILE_HELP = `usage: mla bench profile [--preset NAME] [--set key=value ...] [--batch B --seq T] [--steps N --warmup N] [options]
Times forward + backward (every parameter gradient, the trainer's dropout) of a preset on random tokens, then
each phase of a step (forward, forward + backward, AdamW) and tf.profile's kernels of one more forward +
backward, by total time, with the matrix products by shape.
  --preset NAME    the model (default ${D.preset}); --set key=value overrides its config
  --batch B        rows (default ${D.batch}); --seq T tokens per row (default: the preset's maxSeqLen)
  --steps N        timed passes and repetitions of each phase (default ${D.steps}); --warmup N untimed passes first (default ${D.warmup})
  --top N          kernels listed (default 15; the record keeps all)
${CPU_HELP}`;

export async function benchProfile(argv: string[]): Promise<number> {
  const cmd = 'bench profile';
  const { values } = parseFlags(cmd, argv, {
    ...CPU_FLAGS,
    ...MODEL_OPTIONS,
    batch: { type: 'string' },
    seq: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    seed: { type: 'string' },
    top: { type: 'string' },
  });
  if (values.help) return console.log(PROFILE_HELP), 0;
  const preset = values.preset ?? D.preset;
  const config = modelConfigFromFlags(cmd, preset, values.set);
  const settings = {
    batch: requireInt(cmd, 'batch', values.batch, 1) ?? D.batch,
    seqLen: requireInt(cmd, 'seq', values.seq, 1) ?? config.maxSeqLen,
    steps: requireInt(cmd, 'steps', values.steps, 1) ?? D.steps,
    warmup: requireInt(cmd, 'warmup', values.warmup, 0) ?? D.warmup,
    seed: requireInt(cmd, 'seed', values.seed, 0) ?? D.seed,
  };
  if (settings.seqLen > config.maxSeqLen) {
    throw new CliError(`${cmd}: --seq ${settings.seqLen} exceeds ${preset}'s maxSeqLen ${config.maxSeqLen}; lower --seq or pass --set maxSeqLen=${settings.seqLen}`);
  }
  const top = requireInt(cmd, 'top', values.top, 1) ?? 15;
  await startBench(cmd, values, values.json);
  const result = await runStepProfile(config, settings);
  const record = startRecord('profile', { preset, overrides: values.set ?? [], ...settings, config }, result);
  const file = writeRecord(record, values.out);
  output(values.json, { ...record, file }, () =>
    [
      `${preset} (${(result.parameters / 1e6).toFixed(2)}M parameters), ${settings.batch}×${settings.seqLen}: forward + backward ${result.stepMs.toFixed(0)} ms median of ${result.stepsMs.length} (${result.stepsMs.map((t) => t.toFixed(0)).join(', ')}), loss ${result.loss.toFixed(4)}`,
      `phases (median s): forward ${result.forwardSeconds.median.toFixed(3)}, forward + backward ${result.forwardBackwardSeconds.median.toFixed(3)}, AdamW ${result.adamwSeconds.median.toFixed(3)}`,
      `kernel time in the profiled pass: ${result.kernelMsTotal.toFixed(0)} ms over ${result.kernelCalls} kernels (${result.timedKernels} timed); resident memory ${result.rssMiB} MiB`,
      textTable(['kernel', 'ms', 'calls', 'share'], result.kernels.slice(0, top).map((k) => [k.kernel, k.ms.toFixed(1), k.calls, `${(100 * k.share).toFixed(1)}%`])),
      `record: ${file}`,
    ].join('\n'),
  );
  return finishBench(0);
}
