// The 'tensorflow' backend: TensorFlow's C library through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node
// (optional dependencies; they need a prebuilt binary that is not available everywhere).
import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors';

const PACKAGES = [
  { name: '@tensorflow/tfjs-node-gpu', device: 'TensorFlow C library (CUDA build)' },
  { name: '@tensorflow/tfjs-node', device: 'TensorFlow C library (CPU build)' },
];

export interface TensorflowInit {
  device: string;
  packageName: string;
}

/** Which package would load, without switching backends; null with the reasons when none does. */
export function probeTensorflow(): { packageName: string; device: string } | { reasons: string[] } {
  const reasons: string[] = [];
  for (const p of PACKAGES) {
    try {
      require(p.name);
      return { packageName: p.name, device: p.device };
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      reasons.push(`${p.name}: ${msg}`);
    }
  }
  return { reasons };
}

export async function initTensorflow(): Promise<TensorflowInit> {
  const probe = probeTensorflow();
  if ('reasons' in probe) {
    throw new BackendError(
      `backend 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, and neither loads ` +
        `(${probe.reasons.join('; ')}). Install one (npm install @tensorflow/tfjs-node) or choose --backend cpu.`,
    );
  }
  const ok = await tf.setBackend('tensorflow');
  if (!ok || tf.getBackend() !== 'tensorflow') {
    throw new BackendError(
      `${probe.packageName} loaded but tfjs could not switch to its 'tensorflow' backend; it may be built ` +
        `against another copy of @tensorflow/tfjs-core than this project's (npm ls @tensorflow/tfjs-core)`,
    );
  }
  return { device: probe.device, packageName: probe.packageName };
}
