// The 'cpu' backend: tfjs-backend-cpu with the native kernels registered over its JS ones when the addon loads.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from './addon';
import { overrideKernel } from './kernel-override';
import { STRIDED_KERNELS } from './kernels/strided';
import { registerNativeKernels, unregisterNativeKernels } from './native-kernels';
import { registerCpuOpKernels } from './register';
import { resolveThreads } from './threads';
import { type CpuSettings, SettingsError, backendSettings } from '../../settings';
import { cpuDevice } from '../../backend-description';

export interface CpuInit {
  device: string;
  native: boolean;
  nativeKernels: string[];
  threads: number;
  blas: string | null;
  /** MiB of freed memory the allocator keeps for reuse (0: the allocator's defaults). */
  keepFreedMB: number;
  notes: string[];
}

export interface CpuOptions {
  /** false keeps tfjs's JS kernels even when the addon is built (for comparisons). Default: the settings' (MLA_NATIVE). */
  native?: boolean;
  /** Threads for BLAS and the addon's pool. Default: MLA_THREADS, else every core. */
  threads?: number;
  /**
   * MiB of freed memory to keep for reuse (see keepFreedMemory in native/src/addon.cc); 0 leaves the
   * allocator alone. Default: MLA_KEEP_FREED_MB, else 1024. Applies with the native kernels only.
   */
  keepFreedMB?: number;
  /** Register only these native kernels (names as in NATIVE_KERNELS); default all. For comparisons. */
  kernels?: readonly string[];
}

/** Said once per process, however many times the backend is initialised. */
let fallbackNoted = false;

export async function initCpu(opts: CpuOptions = {}, settings: CpuSettings = backendSettings().cpu): Promise<CpuInit> {
  const wantNative = opts.native ?? settings.native;
  const threads = resolveThreads(opts.threads, settings.threads);
  const notes: string[] = [];
  registerCpuOpKernels(); // also done when register.ts loads; again here after a test unregistered them
  await tf.setBackend('cpu');
  quietNodeBanner();

  const { addon, reason } = loadAddon();
  if (wantNative && addon) {
    addon.setThreads(threads);
    const keepMB = resolveKeepFreedMB(opts.keepFreedMB, settings.keepFreedMB);
    // Once tuned, the process keeps the setting: glibc has no way back to its dynamic defaults.
    const kept = keepMB > 0 && addon.keepFreedMemory(keepMB * 2 ** 20) ? keepMB : 0;
    const nativeKernels = registerNativeKernels(addon, opts.kernels);
    return { device: cpuDevice(), native: true, nativeKernels, threads, blas: addon.info().blas, keepFreedMB: kept, notes };
  }
  unregisterNativeKernels();
  if (!wantNative) {
    notes.push('native kernels off (MLA_NATIVE=0 or native: false); using tfjs\'s JS CPU kernels');
  } else {
    // Without the addon, at least slicing need not index every element (kernels/strided.ts).
    for (const spec of STRIDED_KERNELS) overrideKernel(spec.kernelName, spec.make);
    if (!fallbackNoted) {
      fallbackNoted = true;
      notes.push(`native kernels unavailable (${reason}); using tfjs's JS CPU kernels — run \`npm run build:native\``);
    }
  }
  return { device: cpuDevice(), native: false, nativeKernels: [], threads: 1, blas: null, keepFreedMB: 0, notes };
}

/** The keepFreedMB option, checked as MLA_KEEP_FREED_MB is in settings.ts, else the settings' value. */
function resolveKeepFreedMB(requested: number | undefined, fromSettings: number): number {
  if (requested === undefined) return fromSettings;
  if (!Number.isInteger(requested) || requested < 0 || requested > 2047) {
    throw new SettingsError('keepFreedMB option', String(requested), 'allowed: a whole number of MiB from 0 to 2047 (0 turns the tuning off)');
  }
  return requested;
}

/**
 * tfjs-backend-cpu prints a "install tfjs-node to speed things up" banner on first use in Node. It is
 * not advice this project can take (tfjs-node is optional and often absent), so mark it as shown.
 */
function quietNodeBanner(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ('firstUse' in backend) backend.firstUse = false;
}
