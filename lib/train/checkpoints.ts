// Training checkpoints: everything a run needs to continue exactly, written as one set.
//   <run>/checkpoint/latest.json            {"step": N, "dir": "step-0000000N"}: the commit point, written last
//   <run>/checkpoint/step-0000000N/
//       model.safetensors                   the weights, ModelConfig in the metadata (loadCheckpoint reads it)
//       optimizer.safetensors               AdamW moments exp_avg.<param>, exp_avg_sq.<param>; step in metadata
//       state.json                          step, tokens, data sampler state, dropout RNG state, elapsed time
// Every file is written atomically and state.json last, so a step folder with a readable state.json is
// complete. latest.json moves to a new set only once it is complete, and older sets are deleted only after
// that: a kill at any moment leaves the previous good checkpoint loadable.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { fsyncDir } from '../checkpoint/atomic';
import { CHECKPOINT_FORMAT, LoadedCheckpoint, checkShapes, loadCheckpoint, rawOf, saveCheckpoint } from '../checkpoint/checkpoint';
import { CheckpointError } from '../checkpoint/errors';
import { RawTensor, readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { AdamWConfig, AdamWState } from './adamw';
import { CHECKPOINT_DIR, readJsonFile, writeJsonFile } from './run-dir';

export const LATEST_FILE = 'latest.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';

export interface TrainingState {
  format: string;
  /** Optimizer steps done. */
  step: number;
  /** Training tokens seen. */
  tokens: number;
  /** BatchSource.getState() after the last micro-batch of `step`. */
  sampler: unknown;
  /** Dropout RNG state (a uint32) after `step`. */
  rng: number;
  /** Training wall time up to `step`, summed over resumes. */
  elapsedSec: number;
}

export interface CheckpointRef {
  step: number;
  /** Absolute folder of the set. */
  dir: string;
}

export const stepDirName = (step: number) => `step-${String(step).padStart(8, '0')}`;

function checkpointRoot(runDir: string): string {
  return path.join(runDir, CHECKPOINT_DIR);
}

function isComplete(dir: string): TrainingState | undefined {
  const s = readJsonFile<TrainingState>(path.join(dir, STATE_FILE));
  if (!s || typeof s.step !== 'number') return undefined;
  if (!fs.existsSync(path.join(dir, MODEL_FILE)) || !fs.existsSync(path.join(dir, OPTIMIZER_FILE))) return undefined;
  return s;
}

/** The newest complete checkpoint of a run: latest.json's, or (if it is missing or broken) the newest complete set. */
export function findLatestCheckpoint(runDir: string): CheckpointRef | undefined {
  const root = checkpointRoot(runDir);
  if (!fs.existsSync(root)) return undefined;
  const latest = readJsonFile<{ step: number; dir: string }>(path.join(root, LATEST_FILE));
  if (latest && typeof latest.dir === 'string') {
    const dir = path.join(root, latest.dir);
    const s = isComplete(dir);
    if (s) return { step: s.step, dir };
  }
  const candidates = fs
    .readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n))
    .sort()
    .reverse();
  for (const name of candidates) {
    const s = isComplete(path.join(root, name));
    if (s) return { step: s.step, dir: path.join(root, name) };
  }
  return undefined;
}

export interface SaveInput {
  params: Record<string, tf.Tensor>;
  config: ModelConfig;
  optimizer: AdamWState;
  hp: AdamWConfig;
  state: Omit<TrainingState, 'format'>;
  /** Extra metadata of model.safetensors. */
  metadata?: Record<string, string>;
  /** Sets to keep, counting the new one (default 1). */
  keep?: number;
}

/** Writes a complete checkpoint set for `state.step` and makes it the latest. */
export async function saveTrainingCheckpoint(runDir: string, input: SaveInput): Promise<CheckpointRef> {
  const root = checkpointRoot(runDir);
  fs.mkdirSync(root, { recursive: true });
  const name = stepDirName(input.state.step);
  const dir = path.join(root, name);
  const current = findLatestCheckpoint(runDir);
  if (current && path.resolve(current.dir) === path.resolve(dir)) return current; // this step is already saved
  // A folder of this name that is not the latest is the remains of a kill mid-write: start it afresh.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);

  await saveCheckpoint(path.join(dir, MODEL_FILE), input.params, input.config, { ...input.metadata, step: String(input.state.step) });
  const moments: Record<string, RawTensor> = {};
  for (const [n, t] of Object.entries(input.optimizer.m)) moments[`exp_avg.${n}`] = await rawOf(n, t);
  for (const [n, t] of Object.entries(input.optimizer.v)) moments[`exp_avg_sq.${n}`] = await rawOf(n, t);
  writeSafetensors(path.join(dir, OPTIMIZER_FILE), moments, {
    format: CHECKPOINT_FORMAT,
    optimizer: 'adamw',
    step: String(input.optimizer.step),
    hyperparameters: JSON.stringify(input.hp),
  });
  writeJsonFile(path.join(dir, STATE_FILE), { format: CHECKPOINT_FORMAT, ...input.state });
  fsyncDir(dir);
  writeJsonFile(path.join(root, LATEST_FILE), { step: input.state.step, dir: name });
  pruneCheckpoints(root, name, input.keep ?? 1);
  return { step: input.state.step, dir };
}

/** Deletes step folders other than the newest `keep` complete ones (and any incomplete leftovers). */
function pruneCheckpoints(root: string, newest: string, keep: number): void {
  const names = fs
    .readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n) && n <= newest)
    .sort()
    .reverse();
  let kept = 0;
  for (const n of names) {
    if (n === newest || (kept < keep && isComplete(path.join(root, n)))) {
      kept++;
      continue;
    }
    fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
  // Step folders beyond the newest can only be leftovers of a run that was resumed from an earlier set.
  for (const n of fs.readdirSync(root)) {
    if (/^step-\d+$/.test(n) && n > newest) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  }
}

export interface LoadedTrainingCheckpoint {
  model: LoadedCheckpoint;
  adamStep: number;
  m: Record<string, tf.Tensor>;
  v: Record<string, tf.Tensor>;
  state: TrainingState;
}

/**
 * Loads a set, checking the stored config against `config`, the weights against `shapes` (the live model's
 * parameter shapes: the trainer does not know the architecture) and the moments against the weights.
 */
export function loadTrainingCheckpoint(ref: CheckpointRef, config: ModelConfig, shapes: Record<string, readonly number[]>): LoadedTrainingCheckpoint {
  const state = readJsonFile<TrainingState>(path.join(ref.dir, STATE_FILE));
  if (!state) throw new CheckpointError(`${path.join(ref.dir, STATE_FILE)} is missing or not valid JSON`);
  const model = loadCheckpoint(path.join(ref.dir, MODEL_FILE), config, { expectedShapes: shapes });
  const optFile = path.join(ref.dir, OPTIMIZER_FILE);
  const opt = readSafetensors(optFile);
  const expected: Record<string, readonly number[]> = {};
  for (const [n, t] of Object.entries(model.tensors)) {
    expected[`exp_avg.${n}`] = t.shape;
    expected[`exp_avg_sq.${n}`] = t.shape;
  }
  checkShapes(optFile, Object.fromEntries(Object.entries(opt.tensors).map(([n, t]) => [n, t.shape])), expected);
  const adamStep = Number(opt.metadata.step);
  if (!Number.isInteger(adamStep) || adamStep < 0) throw new CheckpointError(`${optFile} has no valid step in its metadata`);
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  for (const n of Object.keys(model.tensors)) {
    const a = opt.tensors[`exp_avg.${n}`];
    const b = opt.tensors[`exp_avg_sq.${n}`];
    if (a.dtype !== 'F32' || b.dtype !== 'F32') throw new CheckpointError(`${optFile}: moments of '${n}' must be F32`);
    m[n] = tf.tensor(a.data as Float32Array, [...a.shape], 'float32');
    v[n] = tf.tensor(b.data as Float32Array, [...b.shape], 'float32');
  }
  return { model, adamStep, m, v, state };
}
