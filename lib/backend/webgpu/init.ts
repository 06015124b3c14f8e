// The 'webgpu' backend: tfjs-backend-webgpu on Dawn's Node binding (the `webgpu` package, optional).
// Dawn must be installed as navigator.gpu before tfjs-backend-webgpu is first required, because that
// module registers its backend only if it sees navigator.gpu at load time.
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from '../errors';
import { registerWebgpuKernels } from './register';
import { cacheBindGroups, countDispatches, memoizeBindGroupLayouts } from './dispatch';
import { type TimestampMode, type WebgpuSettings, backendSettings } from '../../settings';
import { boundBufferPool, webgpuBufferManager } from './buffer-pool';
import { installStepGraphs } from './step-graph';
import { registerStepGraphs } from '../../ops/step-graph';
import { createNullGpu, NULL_GPU_GLOBALS } from './null-gpu';

/** The parts of the WebGPU API used here (the full types live in @webgpu/types). */
interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

export interface WebgpuInit {
  device: string;
}

let gpu: GpuLike | null = null;
let installedNull = false;

/** Whether the active backend is webgpu on the null device (lib/backend/webgpu/null-gpu.ts): every value it computes is zero. */
export function onNullDevice(): boolean {
  return installedNull && tf.getBackend() === 'webgpu';
}

/**
 * Loads Dawn and installs it as navigator.gpu (once: later calls get the same GPU, whatever their flags).
 * dawnFlags (MLA_WEBGPU_DAWN_FLAGS), e.g. 'enable-dawn-features=allow_unsafe_apis,disable_robustness' (no bounds
 * clamping in shaders: faster, and unsafe for a shader that reads out of bounds). None by default.
 */
async function installDawn(dawnFlags: readonly string[], nullDevice = false): Promise<GpuLike> {
  if (gpu) {
    if (nullDevice !== installedNull) throw new BackendError(`backend 'webgpu': this process already runs on ${installedNull ? 'the null device' : 'Dawn'}; MLA_WEBGPU_NULL_DEVICE cannot change within a process`);
    return gpu;
  }
  if (nullDevice) {
    // No Dawn: the null GPU and WebGPU's flag constants (lib/backend/webgpu/null-gpu.ts).
    Object.assign(globalThis, NULL_GPU_GLOBALS);
    gpu = createNullGpu() as GpuLike;
  } else {
    let dawn: DawnModule;
    try {
      dawn = (await import('webgpu')) as unknown as DawnModule;
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new BackendError(`backend 'webgpu' needs the optional package 'webgpu' (Dawn for Node), which does not load: ${msg}. Install it (npm install webgpu) or choose --backend cpu.`);
    }
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create([...dawnFlags]);
  }
  installedNull = nullDevice;
  // Node 21+ defines a navigator getter; replace it with a plain value that also carries the GPU.
  const existing = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.assign(Object.create(existing), { gpu }),
    configurable: true,
    writable: true,
  });
  return gpu;
}

function describeAdapter(a: GpuAdapterLike): string {
  const info = a.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s): s is string => !!s && s.length > 0);
  return parts.length > 0 ? parts.join(' / ') : 'WebGPU adapter (no adapter info)';
}

/**
 * The flags Dawn is created with: MLA_WEBGPU_DAWN_FLAGS, and under timestamps 'precise' Dawn's timestamp_quantization
 * toggle disabled, merged into the one disable-dawn-features flag the user may have given (Dawn's Node binding keeps
 * one value per flag name, so a second flag would replace the first).
 */
export function dawnCreateFlags(flags: readonly string[], timestamps: TimestampMode): string[] {
  if (timestamps === 'quantized') return [...flags];
  const key = 'disable-dawn-features=';
  const i = flags.findIndex((f) => f.startsWith(key));
  if (i < 0) return [...flags, `${key}timestamp_quantization`];
  const toggles = flags[i].slice(key.length).split(',').filter((t) => t.length > 0);
  const merged = toggles.includes('timestamp_quantization') ? toggles : [...toggles, 'timestamp_quantization'];
  return flags.map((f, j) => (j === i ? `${key}${merged.join(',')}` : f));
}

/** The adapter description, or null when Dawn finds no adapter (no GPU, no Vulkan/Metal/D3D driver). */
export async function probeWebgpu(
  dawnFlags: readonly string[] = dawnCreateFlags(backendSettings().webgpu.dawnFlags, backendSettings().webgpu.timestamps),
  nullDevice = backendSettings().webgpu.nullDevice,
): Promise<string | null> {
  const g = await installDawn(dawnFlags, nullDevice);
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? describeAdapter(adapter) : null;
}

export async function initWebgpu(settings: WebgpuSettings = backendSettings().webgpu): Promise<WebgpuInit> {
  const device = await probeWebgpu(dawnCreateFlags(settings.dawnFlags, settings.timestamps), settings.nullDevice);
  if (device === null) {
    throw new BackendError(
      "backend 'webgpu': Dawn found no GPU adapter on this machine (no GPU, or no Vulkan/Metal/D3D12 driver). " +
        'On Linux Dawn needs the Vulkan loader libvulkan.so.1 (Debian: libvulkan1) and a GPU driver ICD; on headless ' +
        'NVIDIA machines whose default ICD (libGLX_nvidia) finds no driver, point VK_ICD_FILENAMES at an ICD json ' +
        'naming libEGL_nvidia.so.0. Otherwise choose --backend cpu.',
    );
  }
  require('@tensorflow/tfjs-backend-webgpu');
  if (!tf.findBackendFactory('webgpu')) {
    throw new BackendError("backend 'webgpu': @tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed, so it did not register; call initBackend('webgpu') before anything requires it");
  }
  registerWebgpuKernels(settings);
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new BackendError(`backend 'webgpu': tfjs could not create its WebGPU device on ${device}`);
  // Kernels per queue submit (settings.ts's DEFAULT_SUBMIT_BATCH says why 64). The two host-side caches of
  // dispatch.ts (MLA_WEBGPU_LAYOUT_MEMO, MLA_WEBGPU_BIND_GROUP_CACHE, both on by default) took the host
  // time of a dispatch on the H200 from 42 to 36 to 20 µs (scripts/device/dispatch-bench.js) and decoding at
  // context 512 from 24–41 to 19–27 ms per token (data/bench/device/session-3/); training steps, bound by the
  // GPU, did not change.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', settings.submitBatch);
  if (settings.layoutMemo) memoizeBindGroupLayouts();
  if (settings.bindGroupCache) cacheBindGroups();
  countDispatches(); // for the benchmarks' dispatches per step (gpuDispatchCount)
  const manager = webgpuBufferManager();
  if (!manager) throw new BackendError("backend 'webgpu': tfjs-backend-webgpu has no bufferManager; this tfjs version is not the one lib/backend/webgpu/buffer-pool.ts was written for");
  boundBufferPool(manager, settings.poolGiB * 2 ** 30);
  // After the pool's bound: a graph's pinned buffers are held back before the bound sees them.
  if (settings.decodeGraph) {
    if (!installStepGraphs()) throw new BackendError("backend 'webgpu': this tfjs-backend-webgpu lacks the internals step graphs record through (lib/backend/webgpu/step-graph.ts); set MLA_WEBGPU_DECODE_GRAPH=off");
  } else {
    registerStepGraphs('webgpu', null);
  }
  return { device };
}

/** Releases the GPU device so Dawn's threads no longer hold the process open. */
export function disposeWebgpu(): void {
  // tfjs's WebGPUBackend.dispose frees its buffers but leaves the GPUDevice alive, so destroy it too.
  const backend = tf.findBackend('webgpu') as unknown as { device?: { destroy(): void } } | null;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  backend?.device?.destroy();
}
