// Model checkpoints: one safetensors file per model, the tensors named as the model's params, and the
// resolved ModelConfig as JSON in `__metadata__.config` so a checkpoint is self-describing. Loading checks
// the file, every tensor's presence and shape, and (when the caller says what it expects) the config.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { validateConfig } from '../config/validate';
import { parameterShapes } from '../costs/params';
import { CheckpointError } from './errors';
import { RawTensor, readSafetensors, readSafetensorsHeader, writeSafetensors } from './safetensors';

/** `__metadata__.format` of every file this project writes; bump it when the layout changes. */
export const CHECKPOINT_FORMAT = 'mla-lab/1';

export interface LoadedCheckpoint {
  config: ModelConfig;
  tensors: Record<string, tf.Tensor>;
  /** The whole `__metadata__`, including `format` and `config` (as JSON text). */
  metadata: Record<string, string>;
}

export interface LoadOptions {
  /** Tensor shapes the file must hold, exactly; default: the model parameters of the stored config. */
  expectedShapes?: Record<string, readonly number[]>;
}

/** A tf tensor's values as the typed array safetensors stores (float32 → F32, int32 → I32, bool → U8). */
export async function rawOf(name: string, t: tf.Tensor): Promise<RawTensor> {
  const values = await t.data();
  switch (t.dtype) {
    case 'float32':
      return { dtype: 'F32', shape: t.shape, data: values as Float32Array };
    case 'int32':
      return { dtype: 'I32', shape: t.shape, data: values as Int32Array };
    case 'bool':
      return { dtype: 'U8', shape: t.shape, data: Uint8Array.from(values as Uint8Array) };
    default:
      throw new CheckpointError(`tensor '${name}' has dtype ${t.dtype}, which checkpoints do not store (float32, int32, bool)`);
  }
}

/** Writes `params` and `config` to one safetensors file, atomically (never a half-written file at `file`). */
export async function saveCheckpoint(
  file: string,
  params: Record<string, tf.Tensor>,
  config: ModelConfig,
  extraMetadata: Record<string, string> = {},
): Promise<void> {
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(params)) raw[name] = await rawOf(name, t);
  const metadata = { ...extraMetadata, format: CHECKPOINT_FORMAT, config: JSON.stringify(config) };
  writeSafetensors(file, raw, metadata);
}

/** The fields where two configs differ, as "field: found X, expected Y". */
export function configDifferences(expected: object, found: object): string[] {
  const e = expected as Record<string, unknown>;
  const f = found as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(e), ...Object.keys(f)])];
  return keys
    .filter((k) => JSON.stringify(e[k]) !== JSON.stringify(f[k]))
    .map((k) => `${k}: checkpoint has ${JSON.stringify(f[k])}, expected ${JSON.stringify(e[k])}`);
}

/** The ModelConfig stored in a checkpoint's metadata, validated. */
export function configFromMetadata(file: string, metadata: Record<string, string>): ModelConfig {
  if (metadata.format !== CHECKPOINT_FORMAT) {
    const got = metadata.format === undefined ? 'no format field' : `format '${metadata.format}'`;
    throw new CheckpointError(`${file} has ${got} in its metadata; expected '${CHECKPOINT_FORMAT}' (was it written by mla-lab?)`);
  }
  if (metadata.config === undefined) throw new CheckpointError(`${file} has no model config in its metadata`);
  let config: ModelConfig;
  try {
    config = JSON.parse(metadata.config) as ModelConfig;
  } catch {
    throw new CheckpointError(`${file}: the config in its metadata is not valid JSON`);
  }
  try {
    return validateConfig(config);
  } catch (err) {
    throw new CheckpointError(`${file} holds an invalid config: ${(err as Error).message}`);
  }
}

/** The config a checkpoint holds, from its header alone (no tensor is read): for checks before any work. */
export function readCheckpointConfig(file: string): ModelConfig {
  return configFromMetadata(file, readSafetensorsHeader(file).metadata);
}

/** Checks that `tensors` hold exactly the expected names and shapes; throws naming the first problem. */
export function checkShapes(file: string, shapes: Record<string, readonly number[]>, expected: Record<string, readonly number[]>): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = shapes[name];
    if (!got) throw new CheckpointError(`${file} lacks tensor '${name}' (expected shape [${want}])`);
    if (got.join(',') !== want.join(',')) {
      throw new CheckpointError(`tensor '${name}' in ${file} has shape [${got}], expected [${want}]`);
    }
  }
  const extra = Object.keys(shapes).filter((n) => !(n in expected));
  if (extra.length) throw new CheckpointError(`${file} holds tensors the model does not have: ${extra.join(', ')}`);
}

/**
 * Throws unless every value of a float tensor is finite: the trainer never writes a NaN or an infinity, so one
 * means a damaged file or a foreign writer, and a model loaded from it would silently generate garbage.
 */
export function checkFinite(file: string, name: string, data: Float32Array | Float64Array): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new CheckpointError(`tensor '${name}' in ${file} holds ${data[i]} at index ${i}; the file is damaged or was written by a diverged run, use an earlier checkpoint`);
    }
  }
}

/**
 * Loads and checks a checkpoint. With `expectedConfig`, a file saved for another model fails with the fields
 * that differ. Only F32 and I32 tensors load as tf tensors; the caller owns (and disposes) them.
 */
export function loadCheckpoint(file: string, expectedConfig?: ModelConfig, opts: LoadOptions = {}): LoadedCheckpoint {
  const content = readSafetensors(file);
  const config = configFromMetadata(file, content.metadata);
  if (expectedConfig) {
    const diff = configDifferences(expectedConfig, config);
    if (diff.length) throw new CheckpointError(`${file} was saved for a different model: ${diff.join('; ')}`);
  }
  const shapes = Object.fromEntries(Object.entries(content.tensors).map(([n, t]) => [n, t.shape]));
  checkShapes(file, shapes, opts.expectedShapes ?? parameterShapes(config));
  for (const [name, t] of Object.entries(content.tensors)) if (t.dtype === 'F32') checkFinite(file, name, t.data as Float32Array);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(content.tensors)) {
    if (t.dtype !== 'F32' && t.dtype !== 'I32') {
      Object.values(tensors).forEach((x) => x.dispose());
      throw new CheckpointError(`tensor '${name}' in ${file} is ${t.dtype}; only F32 and I32 load as tf tensors (use readSafetensors)`);
    }
    tensors[name] = tf.tensor(t.data as Float32Array | Int32Array, [...t.shape], t.dtype === 'F32' ? 'float32' : 'int32');
  }
  return { config, tensors, metadata: content.metadata };
}
