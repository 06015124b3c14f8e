// mla worker: pulls sweep runs from a BullMQ queue on Redis and trains them (one at a time) through the same
// runner as `mla sweep run`, reporting step and loss to the job. --gpu K pins the process to GPU K before the
// backend starts; --dry-run shows which GPU that gives without touching the queue.
import * as path from 'node:path';
import { BACKEND_CHOICES, exitProcess } from '../../lib/backend/init';
import { defaultDataRoot } from '../../lib/data/prepare';
import { SweepError } from '../../lib/sweep/errors';
import { applyGpuPin, gpuPinning, nvidiaGpuOfPid, samePciAddress } from '../../lib/sweep/gpu';
import type { GpuPin } from '../../lib/sweep/gpu';
import { DEFAULT_LOCK_MS, DEFAULT_QUEUE, DEFAULT_STALLED_MS, startSweepWorker } from '../../lib/sweep/queue';
import { BACKEND_HELP, BACKEND_OPTION, output, parseFlags, requireInt, startBackend } from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla worker --redis URL [--queue NAME] [--runs-dir DIR] [--root DIR] [--backend B] [--gpu K] [options]
       mla worker --gpu K --backend webgpu --dry-run     which GPU --gpu K gives (no queue needed)
  --redis URL       redis://[user:password@]host:6379[/db] (rediss:// for TLS)
  --queue NAME      BullMQ queue (default ${DEFAULT_QUEUE})
  --runs-dir DIR    this machine's path to the shared runs folder (default: the submitter's path, from the job)
  --root DIR        data root (default: $MLA_DATA_ROOT, else the repository's data/)
${BACKEND_HELP}
  --gpu K           GPU K of this machine, counted as nvidia-smi does (PCI address order); sets DRI_PRIME and
                    MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE for Mesa's Vulkan device-select layer (needs
                    mesa-vulkan-drivers), and CUDA_VISIBLE_DEVICES for the tensorflow backend
  --lock-ms N       job lock without renewal (default ${DEFAULT_LOCK_MS}): a killed worker's run is taken over
                    after at most this plus --stalled-ms
  --stalled-ms N    how often workers look for runs whose worker died (default ${DEFAULT_STALLED_MS})
  --max-stalled N   takeovers after a lost worker before the run is failed (default 2)
  --idle-exit S     exit after S seconds with nothing waiting or running on the queue (default: never)
  --dry-run         pin the GPU, start the backend, print the adapter (and the GPU nvidia-smi sees us on), exit
SIGTERM or Ctrl-C: the run stops after its current step with a checkpoint and goes back to the queue.`;

const OPTIONS = {
  ...BACKEND_OPTION,
  redis: { type: 'string' },
  queue: { type: 'string' },
  'runs-dir': { type: 'string' },
  root: { type: 'string' },
  gpu: { type: 'string' },
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
  'max-stalled': { type: 'string' },
  'idle-exit': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
} as const;

const stamp = () => new Date().toISOString().slice(11, 19);

/** How GPU k would be pinned; a CliError naming the machine's GPUs when there is no GPU k. */
export function checkGpu(k: number): GpuPin {
  try {
    return gpuPinning(k);
  } catch (err) {
    if (err instanceof SweepError) throw new CliError(err.message);
    throw err;
  }
}

/** Pins this process to GPU k (before any backend starts) and says so on stderr. */
export function pinGpu(k: number, quiet = false): GpuPin {
  const pin = checkGpu(k);
  applyGpuPin(pin);
  if (!quiet) {
    console.error(`gpu ${k}: PCI ${pin.gpu.address} (${pin.gpu.vendor}:${pin.gpu.device}); ${Object.entries(pin.env).map(([a, b]) => `${a}=${b}`).join(' ')}`);
    for (const n of pin.notes) console.error(`note: ${n}`);
  }
  return pin;
}

async function dryRun(pin: GpuPin | undefined, backendChoice: string | undefined, json: boolean): Promise<number> {
  const backend = await startBackend(backendChoice, true);
  // nvidia-smi lists the process once it holds a context on a GPU, which the backend's device now is.
  const held = backend.backend === 'cpu' ? undefined : nvidiaGpuOfPid(process.pid);
  const match = pin && held ? samePciAddress(pin.gpu.address, held) : undefined;
  const info = { backend: backend.backend, adapter: backend.device, gpu: pin?.index ?? null, requestedPci: pin?.gpu.address ?? null, env: pin?.env ?? {}, layer: pin?.layer ?? null, notes: pin?.notes ?? [], nvidiaSmiPci: held ?? null, pinned: match ?? null };
  output(json, info, () =>
    [
      `backend ${backend.backend}: adapter picked: ${backend.device}`,
      pin ? `asked for GPU ${pin.index} at PCI ${pin.gpu.address} through ${pin.layer ? `the device-select layer (${pin.layer})` : 'the device-select layer, which is NOT installed'}` : 'no --gpu: the backend took its default adapter',
      held ? `nvidia-smi shows this process (pid ${process.pid}) on PCI ${held}${match === undefined ? '' : match ? ': pinned as asked' : ': NOT the GPU asked for'}` : 'nvidia-smi does not list this process (no nvidia-smi, a CPU backend, or no context yet)',
    ].join('\n'),
  );
  exitProcess(match === false ? 1 : 0);
  return match === false ? 1 : 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('worker', argv, OPTIONS);
  if (v.help) return console.log(HELP), 0;
  if (v.backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(v.backend)) throw new CliError(`worker: --backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${v.backend}'`);
  const gpu = requireInt('worker', 'gpu', v.gpu, 0);
  const pin = gpu === undefined ? undefined : pinGpu(gpu, v.json);
  if (v['dry-run']) return dryRun(pin, v.backend, v.json);
  if (!v.redis) throw new CliError('worker: --redis URL is required, e.g. --redis redis://127.0.0.1:6379');
  const idle = requireInt('worker', 'idle-exit', v['idle-exit'], 0);
  const backend = await startBackend(v.backend, v.json);
  const log = (s: string) => console.error(`${stamp()} ${s}`);
  let worker;
  try {
    worker = startSweepWorker({
      redis: v.redis,
      queue: v.queue,
      root: path.resolve(v.root ?? defaultDataRoot()),
      runsDir: v['runs-dir'] ? path.resolve(v['runs-dir']) : undefined,
      lockDurationMs: requireInt('worker', 'lock-ms', v['lock-ms'], 100),
      stalledIntervalMs: requireInt('worker', 'stalled-ms', v['stalled-ms'], 100),
      maxStalledCount: requireInt('worker', 'max-stalled', v['max-stalled'], 0),
      idleExitMs: idle === undefined ? undefined : idle * 1000,
      log,
    });
  } catch (err) {
    if (err instanceof SweepError) throw new CliError(err.message);
    throw err;
  }
  log(`worker pid ${process.pid} on ${backend.backend} (${backend.device}) waiting for runs on ${v.queue ?? DEFAULT_QUEUE} at ${v.redis}`);
  const onSignal = () => {
    log('stopping: the current run checkpoints after this step and goes back to the queue');
    worker.stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await worker.finished;
  output(v.json, { completed: worker.completed }, () => `worker finished ${worker.completed.length} run(s)`);
  exitProcess(0);
  return 0;
}
