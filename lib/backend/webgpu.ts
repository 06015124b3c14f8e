// The 'webgpu' backend: tfjs-backend-webgpu on Dawn's Node binding (the `webgpu` package, optional).
// Dawn must be installed as navigator.gpu before tfjs-backend-webgpu is first required, because that
// module registers its backend only if it sees navigator.gpu at load time.
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors';
import { registerWebgpuKernels } from './webgpu-kernels';
import { cacheBindGroups, memoizeBindGroupLayouts } from './webgpu-dispatch';

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

/** Loads Dawn and installs it as navigator.gpu (once). */
async function installDawn(): Promise<GpuLike> {
  if (gpu) return gpu;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new BackendError(`backend 'webgpu' needs the optional package 'webgpu' (Dawn for Node), which does not load: ${msg}. Install it (npm install webgpu) or choose --backend cpu.`);
  }
  Object.assign(globalThis, dawn.globals);
  gpu = dawn.create(dawnFlags());
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
 * MLA_WEBGPU_DAWN_FLAGS: flags for Dawn's Node binding, separated by spaces, e.g.
 * 'enable-dawn-features=allow_unsafe_apis,disable_robustness' (no bounds clamping in shaders: faster, and
 * unsafe for a shader that reads out of bounds). None by default.
 */
function dawnFlags(): string[] {
  return (process.env.MLA_WEBGPU_DAWN_FLAGS ?? '').split(' ').filter((f) => f.length > 0);
}

/** The adapter description, or null when Dawn finds no adapter (no GPU, no Vulkan/Metal/D3D driver). */
export async function probeWebgpu(): Promise<string | null> {
  const g = await installDawn();
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? describeAdapter(adapter) : null;
}

export async function initWebgpu(): Promise<WebgpuInit> {
  const device = await probeWebgpu();
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
  registerWebgpuKernels();
  const ok = await tf.setBackend('webgpu');
  if (!ok) throw new BackendError(`backend 'webgpu': tfjs could not create its WebGPU device on ${device}`);
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', submitBatch());
  if (switchOn('MLA_WEBGPU_LAYOUT_MEMO', 'on')) memoizeBindGroupLayouts();
  if (switchOn('MLA_WEBGPU_BIND_GROUP_CACHE', 'on')) cacheBindGroups();
  return { device };
}

/**
 * Kernels recorded per queue submission (tfjs submits every 15). On the H100, while AdamW still ran as ~1,700
 * small ops per step, 64 per submit gave 1.45× the tokens/s of 15; with AdamW's own kernels 15, 64 and 256 are
 * within noise of each other and 1024 is slower (data/bench/device/session-2/). MLA_WEBGPU_SUBMIT_BATCH overrides it.
 */
export const DEFAULT_SUBMIT_BATCH = 64;

function submitBatch(): number {
  const raw = process.env.MLA_WEBGPU_SUBMIT_BATCH;
  if (raw === undefined || raw === '') return DEFAULT_SUBMIT_BATCH;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new BackendError(`MLA_WEBGPU_SUBMIT_BATCH='${raw}': expected a positive integer (kernels per queue submit; default ${DEFAULT_SUBMIT_BATCH})`);
  return n;
}

/**
 * An on/off environment switch. MLA_WEBGPU_LAYOUT_MEMO and MLA_WEBGPU_BIND_GROUP_CACHE (both on by default):
 * webgpu-dispatch.ts's memo of bind group layouts and cache of bind groups. On the H200 they took the host time
 * of a dispatch from 42 to 36 to 20 µs (scripts/device/dispatch-bench.js) and decoding at context 512 from
 * 24–41 to 19–27 ms per token (data/bench/device/session-3/); training steps, bound by the GPU, did not change.
 */
function switchOn(name: string, fallback: 'on' | 'off'): boolean {
  const v = process.env[name] ?? fallback;
  if (v !== 'on' && v !== 'off') throw new BackendError(`${name}='${v}': expected 'on' or 'off' (default ${fallback})`);
  return v === 'on';
}

/** Releases the GPU device so Dawn's threads no longer hold the process open. */
export function disposeWebgpu(): void {
  // tfjs's WebGPUBackend.dispose frees its buffers but leaves the GPUDevice alive, so destroy it too.
  const backend = tf.findBackend('webgpu') as unknown as { device?: { destroy(): void } } | null;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  backend?.device?.destroy();
}
