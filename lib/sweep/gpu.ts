// Pinning a process to GPU K of several identical GPUs, for `--gpu K`. What the sources say:
//
// - Dawn's Node binding (src/dawn/node/binding/GPU.cpp, GPU::requestAdapter) enumerates every adapter of the
//   backend and returns the FIRST one whose AdapterInfo.device contains the `adapter=NAME` flag. It has no index
//   option, and identical GPUs have identical names ("NVIDIA H200"), so the flag cannot tell them apart; the
//   adapter info it exposes (vendor, architecture, device, description) carries no PCI address either.
// - Dawn keeps the order Vulkan gives (InstanceBase::EnumerateAdapters → SortAdapters in src/dawn/native/Adapter.cpp
//   is a stable sort by adapter type and backend only), and the Khronos loader on Linux orders physical devices by
//   type, then PCI domain/bus/device/function (loader/loader_linux.c compare_devices). So among identical GPUs
//   Dawn always opens the lowest PCI address, i.e. nvidia-smi's GPU 0, and picking K must happen below Dawn.
// - Mesa's implicit Vulkan layer VK_LAYER_MESA_device_select (package mesa-vulkan-drivers) reorders the devices so
//   the selected one comes first, and MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1 hides the others. Its
//   MESA_VK_DEVICE_SELECT takes vendor:device ids (the same for identical GPUs); DRI_PRIME=pci-DDDD_BB_DD_F selects
//   by PCI address, through VK_EXT_pci_bus_info, which NVIDIA's driver has. That is the mechanism used here.
//   The loader's own VK_LOADER_DEVICE_SELECT also takes vendor:device ids only.
// - Without that layer, the working alternative is to let the node show one GPU only: a container given one GPU
//   (docker --gpus device=K, Kubernetes nvidia.com/gpu: 1) or Slurm with ConstrainDevices=yes (cgroup on
//   /dev/nvidiaK). Then --gpu is not needed.
// CUDA_VISIBLE_DEVICES is CUDA's (no Vulkan source above reads it); it is set too, with the same K, for the
// 'tensorflow' backend (tfjs-node-gpu). `mla worker --gpu K --dry-run` prints the GPU the process really holds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { SweepError } from './errors';
import { processEnv, setProcessEnv } from '../settings';

export interface PciGpu {
  /** DDDD:BB:DD.F, as lspci -D and nvidia-smi (without its leading zeros) print it. */
  address: string;
  vendor: string;
  device: string;
}

export interface GpuPin {
  index: number;
  gpu: PciGpu;
  /** Environment that selects it; set before the backend starts, and passed to child processes. */
  env: Record<string, string>;
  /** Whether the Mesa device-select layer's manifest was found (without it, the env has no effect on Vulkan). */
  layer: string | undefined;
  notes: string[];
}

// GPU vendors with Vulkan drivers: NVIDIA, AMD, Intel. Display-class devices of others (a server's ASPEED or
// Matrox BMC graphics) have no Vulkan device and would shift the numbering.
const GPU_VENDORS = new Set(['0x10de', '0x1002', '0x8086']);

/** Display-class PCI devices of GPU vendors, in PCI address order (the Vulkan loader's order for identical GPUs). */
export function listPciGpus(sysfs = '/sys/bus/pci/devices'): PciGpu[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(sysfs);
  } catch {
    return [];
  }
  const read = (dir: string, f: string) => {
    try {
      return fs.readFileSync(path.join(sysfs, dir, f), 'utf8').trim();
    } catch {
      return '';
    }
  };
  return entries
    .filter((d) => read(d, 'class').startsWith('0x03') && GPU_VENDORS.has(read(d, 'vendor')))
    .map((d) => ({ address: d, vendor: read(d, 'vendor'), device: read(d, 'device') }))
    .sort((a, b) => a.address.localeCompare(b.address));
}

/** Where the Vulkan loader looks for implicit layers on Linux (system, then user). */
function implicitLayerDirs(env: NodeJS.ProcessEnv): string[] {
  const data = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const home = env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local/share');
  return [...['/etc', ...data].map((d) => path.join(d, 'vulkan/implicit_layer.d')), path.join(home, 'vulkan/implicit_layer.d')];
}

/** The device-select layer's manifest, if installed. */
export function findDeviceSelectLayer(env: NodeJS.ProcessEnv = processEnv()): string | undefined {
  for (const dir of implicitLayerDirs(env)) {
    let files: string[] = [];
    try {
      files = fs.readdirSync(dir);
    } catch {
      continue;
    }
    const f = files.find((n) => /device_select/i.test(n) && n.endsWith('.json'));
    if (f) return path.join(dir, f);
  }
  return undefined;
}

/** Mesa's DRI_PRIME tag for a PCI address: 0000:41:00.0 → pci-0000_41_00_0. */
export const driPrimeTag = (address: string) => `pci-${address.replace(/[:.]/g, '_')}`;

/** How to pin this process to GPU K; throws naming the GPUs when K is not one of them. */
export function gpuPinning(k: number, o: { sysfs?: string; env?: NodeJS.ProcessEnv } = {}): GpuPin {
  const env = o.env ?? processEnv();
  const gpus = listPciGpus(o.sysfs);
  if (!Number.isInteger(k) || k < 0) throw new SweepError(`--gpu ${k} must be a GPU number ≥ 0 (nvidia-smi's index)`);
  if (k >= gpus.length) {
    const seen = gpus.length ? gpus.map((g, i) => `${i}: ${g.address}`).join(', ') : 'none (no display-class NVIDIA/AMD/Intel device in /sys/bus/pci/devices)';
    throw new SweepError(`--gpu ${k}: this machine shows ${gpus.length} GPU(s): ${seen}; choose one of them, or drop --gpu where the container or cgroup already gives one GPU`);
  }
  const gpu = gpus[k];
  const layer = findDeviceSelectLayer(env);
  const notes: string[] = [];
  if (!layer) notes.push("Mesa's device-select layer (VkLayer_MESA_device_select.json, Debian package mesa-vulkan-drivers) is not installed: Dawn will open the first GPU whatever --gpu says; install it, or give the process one GPU (container, Slurm ConstrainDevices)");
  if (env.NODEVICE_SELECT) notes.push('NODEVICE_SELECT is set, which disables the device-select layer; unset it');
  if (env.CUDA_VISIBLE_DEVICES !== undefined) notes.push(`CUDA_VISIBLE_DEVICES was '${env.CUDA_VISIBLE_DEVICES}' (a scheduler may have set it); --gpu counts all of the machine's GPUs by PCI address, not those`);
  return {
    index: k,
    gpu,
    layer,
    notes,
    env: {
      DRI_PRIME: driPrimeTag(gpu.address),
      MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1',
      CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
      CUDA_VISIBLE_DEVICES: String(k),
    },
  };
}

/**
 * Sets the pin's environment in this process. Node writes the process's environment through to C's, which
 * the Vulkan loader and layer read when Dawn creates its instance, so this must run before the backend starts.
 */
export function applyGpuPin(pin: GpuPin): void {
  setProcessEnv(pin.env);
}

/**
 * The PCI address of the GPU that process `pid` holds a context on, from `nvidia-smi -q -d PIDS` (which lists
 * compute and graphics processes per GPU); undefined without nvidia-smi or when the process is not listed.
 */
export function nvidiaGpuOfPid(pid: number = process.pid): string | undefined {
  let out: string;
  try {
    out = execFileSync('nvidia-smi', ['-q', '-d', 'PIDS'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  let gpu: string | undefined;
  for (const line of out.split('\n')) {
    const g = /^GPU\s+([0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.[0-9A-Fa-f])/.exec(line);
    if (g) gpu = g[1];
    const p = /Process ID\s*:\s*(\d+)/.exec(line);
    if (p && Number(p[1]) === pid) return gpu;
  }
  return undefined;
}

/** nvidia-smi writes 00000000:41:00.0; sysfs 0000:41:00.0. */
export function samePciAddress(a: string, b: string): boolean {
  const norm = (s: string) => {
    const [dom, bus, rest] = s.toLowerCase().split(':');
    return `${parseInt(dom, 16)}:${parseInt(bus, 16)}:${rest}`;
  };
  return norm(a) === norm(b);
}
