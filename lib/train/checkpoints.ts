// Training checkpoints: everything a run needs to continue exactly, written as one set.
//   <run>/checkpoint/latest.json            {"step": N, "dir": "step-0000000N"}: the commit point, written last
//   <run>/checkpoint/step-0000000N/
//       model.safetensors                   the weights, ModelConfig in the metadata (loadCheckpoint reads it)
//       optimizer.safetensors               AdamW moments exp_avg.<param>, exp_avg_sq.<param>; step in metadata
//       state.json                          step, tokens, data sampler state, dropout RNG state, elapsed time
// Every file is written atomically and state.json last, so a step folder with a readable state.json is
// complete. latest.json moves to a new set only once it is complete, and older sets are deleted only after
// that: a kill at any moment leaves the previous good checkpoint loadable. A set whose state.json is present
// but unreadable (or whose weights are gone) cannot come from a kill: it is reported, and never deleted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { fsyncDir } from '../checkpoint/atomic';
import { faultPoint } from '../checkpoint/faults';
import { CHECKPOINT_FORMAT, LoadedCheckpoint, checkFinite, checkShapes, loadCheckpoint, rawOf, saveCheckpoint } from '../checkpoint/checkpoint';
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

/** What a step folder holds: a complete set, the leftovers of a save cut short, or a damaged set (why). */
type SetStatus = { kind: 'complete'; state: TrainingState } | { kind: 'incomplete' } | { kind: 'damaged'; why: string };

function inspectSet(dir: string): SetStatus {
  const stateFile = path.join(dir, STATE_FILE);
  // state.json is written last: without it the save was cut short, which is no damage.
  if (!fs.existsSync(stateFile)) return { kind: 'incomplete' };
  const s = readJsonFile<TrainingState>(stateFile);
  if (!s || typeof s.step !== 'number') return { kind: 'damaged', why: `${stateFile} is not valid JSON with a step` };
  for (const f of [MODEL_FILE, OPTIMIZER_FILE]) {
    if (!fs.existsSync(path.join(dir, f))) return { kind: 'damaged', why: `${path.join(dir, f)} is missing although ${STATE_FILE} says the set is complete` };
  }
  return { kind: 'complete', state: s };
}

const stepDirs = (root: string) => fs.readdirSync(root).filter((n) => /^step-\d+$/.test(n)).sort().reverse();

function damagedError(root: string, name: string, why: string): CheckpointError {
  const older = stepDirs(root).find((n) => n < name && inspectSet(path.join(root, n)).kind === 'complete');
  const fix = older
    ? `restore it, or move ${path.join(root, name)} away to continue from ${older}`
    : `restore it, or move ${path.join(root, name)} away and start the run again`;
  return new CheckpointError(`checkpoint ${name} is damaged: ${why}; ${fix}`);
}

/**
 * The newest complete checkpoint of a run: latest.json's, or (if it is missing or broken) the newest complete
 * set. A damaged set in the way throws rather than being skipped, so a resume never silently goes back.
 */
export function findLatestCheckpoint(runDir: string): CheckpointRef | undefined {
  const root = checkpointRoot(runDir);
  if (!fs.existsSync(root)) return undefined;
  const latest = readJsonFile<{ step: number; dir: string }>(path.join(root, LATEST_FILE));
  // latest.json's set first; if it is missing or not complete, the newest complete one.
  const named = latest && typeof latest.dir === 'string' ? [latest.dir] : [];
  for (const name of [...named, ...stepDirs(root)]) {
    const st = inspectSet(path.join(root, name));
    if (st.kind === 'damaged') throw damagedError(root, name, st.why);
    if (st.kind === 'complete') return { step: st.state.step, dir: path.join(root, name) };
  }
  return undefined;
}

/** Makes `ref` the run's latest set again (after a divergence, the newest sane one). */
export function pointLatestAt(runDir: string, ref: CheckpointRef): void {
  writeJsonFile(path.join(checkpointRoot(runDir), LATEST_FILE), { step: ref.step, dir: path.basename(ref.dir) });
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
  /** A set that pruning must keep whatever its age (the newest checkpoint whose loss was sane). */
  protect?: string;
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
  if (fs.existsSync(dir)) removeSet(root, name);
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
  pruneCheckpoints(root, name, input.keep ?? 1, input.protect && path.basename(input.protect));
  return { step: input.state.step, dir };
}

/**
 * Deletes step folders other than the newest `keep` complete ones and `protect` (and any incomplete
 * leftovers). Damaged sets are left alone: what cannot be read is not this code's to throw away.
 */
function pruneCheckpoints(root: string, newest: string, keep: number, protect?: string): void {
  // Leftovers of a removal cut short by a kill.
  for (const n of fs.readdirSync(root)) if (n.endsWith(REMOVING)) fs.rmSync(path.join(root, n), { recursive: true, force: true });
  let kept = 0;
  for (const n of stepDirs(root).filter((d) => d <= newest)) {
    const st = inspectSet(path.join(root, n));
    if (n === newest || (kept < keep && st.kind === 'complete')) {
      kept++;
      continue;
    }
    if (n !== protect && st.kind !== 'damaged') removeSet(root, n);
  }
  // Step folders beyond the newest can only be leftovers of a run that was resumed from an earlier set.
  for (const n of stepDirs(root)) if (n > newest && inspectSet(path.join(root, n)).kind !== 'damaged') removeSet(root, n);
}

const REMOVING = '.removing';

/**
 * Renames a set out of the step-N namespace before deleting it: a kill in the middle of a recursive delete
 * would otherwise leave a state.json without its weights, which reads as a damaged set.
 */
function removeSet(root: string, name: string): void {
  faultPoint('remove', path.join(root, name));
  const doomed = path.join(root, name + REMOVING);
  fs.renameSync(path.join(root, name), doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
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
    checkFinite(optFile, `exp_avg.${n}`, a.data as Float32Array);
    checkFinite(optFile, `exp_avg_sq.${n}`, b.data as Float32Array);
    m[n] = tf.tensor(a.data as Float32Array, [...a.shape], 'float32');
    v[n] = tf.tensor(b.data as Float32Array, [...b.shape], 'float32');
  }
  return { model, adamStep, m, v, state };
}
