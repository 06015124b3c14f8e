// The 'cpu' backend: tfjs-backend-cpu with the native kernels registered over its JS ones when the addon loads.
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from './addon';
import { registerNativeKernels, unregisterNativeKernels } from './native-kernels';
import { resolveThreads } from './threads';

export interface CpuInit {
  device: string;
  native: boolean;
  nativeKernels: string[];
  threads: number;
  blas: string | null;
  notes: string[];
}

export interface CpuOptions {
  /** false keeps tfjs's JS kernels even when the addon is built (for comparisons). Default: MLA_NATIVE !== '0'. */
  native?: boolean;
  /** Threads for BLAS and the addon's pool. Default: MLA_THREADS, else every core. */
  threads?: number;
}

/** Said once per process, however many times the backend is initialised. */
let fallbackNoted = false;

export function cpuDevice(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'} (${cpus.length} cores)`;
}

export async function initCpu(opts: CpuOptions = {}): Promise<CpuInit> {
  const wantNative = opts.native ?? process.env.MLA_NATIVE !== '0';
  const threads = resolveThreads(opts.threads);
  const notes: string[] = [];
  await tf.setBackend('cpu');
  quietNodeBanner();

  const { addon, reason } = loadAddon();
  if (wantNative && addon) {
    addon.setThreads(threads);
    const nativeKernels = registerNativeKernels(addon);
    return { device: cpuDevice(), native: true, nativeKernels, threads, blas: addon.info().blas, notes };
  }
  unregisterNativeKernels();
  if (!wantNative) {
    notes.push('native kernels off (MLA_NATIVE=0 or native: false); using tfjs\'s JS CPU kernels');
  } else if (!fallbackNoted) {
    fallbackNoted = true;
    notes.push(`native kernels unavailable (${reason}); using tfjs's JS CPU kernels — run \`npm run build:native\``);
  }
  return { device: cpuDevice(), native: false, nativeKernels: [], threads: 1, blas: null, notes };
}

/**
 * tfjs-backend-cpu prints a "install tfjs-node to speed things up" banner on first use in Node. It is
 * not advice this project can take (tfjs-node is optional and often absent), so mark it as shown.
 */
function quietNodeBanner(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}
