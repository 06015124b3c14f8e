// A sweep is data: a base run spec and axes, each axis a list of values for one key of the spec. The runs are
// the Cartesian product of the axes in file order (the last axis varies fastest), so a run's index is stable
// for a given file and an array job can pick run I by number. Every value is checked before anything trains:
// an unknown key or a bad value is refused with the axis named.
//
//   name: tiny-ranks            # optional; default the file name
//   runsDir: ../runs            # optional, relative to this file; default <data root>/runs
//   base: { preset: tiny-mla-rope, seed: 0, data: embedded, train: { tokens: 4096, batchSize: 4, seqLen: 64 } }
//   axes:
//     preset: [tiny-mla-rope, tiny-mha-rope]
//     seed: [0, 1]
//     train.lr: [0.001, 0.003]
//     overrides.kvRank: [16, 32]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveConfig } from '../config/presets';
import type { ModelConfig } from '../config/model-config';
import { parseDataSpec } from '../data/spec';
import type { RunSpec } from '../experiments/runs';
import { resolveTrainOptions } from '../train/options';
import type { TrainOptions } from '../train/types';
import { SweepError } from './errors';

/** What a sweep file holds once parsed. */
export interface SweepFile {
  name: string;
  /** Where run folders go, absolute (resolved against the file's folder); undefined: <data root>/runs. */
  runsDir?: string;
  base: Partial<RunSpec>;
  /** Axis key → its values, in file order. */
  axes: [string, unknown[]][];
  /** The file it came from (absolute), when read from disk. */
  file?: string;
}

/** One expanded run: its spec and the axis values that made it. */
export interface SweepPoint {
  index: number;
  spec: RunSpec;
  /** Axis key → this run's value. */
  values: Record<string, unknown>;
}

const TOP_KEYS = ['name', 'runsDir', 'base', 'axes'];
const SPEC_KEYS = ['preset', 'seed', 'data', 'train', 'overrides', 'trainEvalTokens'];
/** Training options a sweep may set: those that define a run (outDir, resume, progress and seed are the runner's). */
export const SWEEP_TRAIN_KEYS: readonly (keyof TrainOptions)[] = [
  'tokens', 'batchSize', 'seqLen', 'accumSteps', 'lr', 'warmupSteps', 'schedule', 'minLrRatio', 'beta1', 'beta2',
  'eps', 'weightDecay', 'clipNorm', 'evalEvery', 'evalTokens', 'evalBatchSize', 'checkpointEvery', 'logEvery',
];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v);

/** Reads a sweep file (.json, .yaml or .yml) and checks its shape; values are checked by expandSweep. */
export function readSweepFile(file: string): SweepFile {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new SweepError(`sweep file ${abs} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); give the path of a .json or .yaml sweep`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(abs) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new SweepError(`sweep file ${abs} is not valid ${/\.json$/i.test(abs) ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseSweep(raw, { file: abs, name: path.basename(abs).replace(/\.(json|ya?ml)$/i, '') });
}

/** Checks the shape of a parsed sweep (top-level keys, base keys, axes as non-empty lists). */
export function parseSweep(raw: unknown, where: { file?: string; name?: string } = {}): SweepFile {
  if (!isRecord(raw)) throw new SweepError(`a sweep must be an object with 'base' and 'axes', got ${show(raw)}`);
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) throw new SweepError(`unknown sweep key '${k}'; a sweep has ${TOP_KEYS.join(', ')}`);
  }
  const name = raw.name ?? where.name ?? 'sweep';
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new SweepError(`sweep name ${show(name)} must be letters, digits, '.', '_' or '-' (it names the report files)`);
  }
  const base = raw.base ?? {};
  if (!isRecord(base)) throw new SweepError(`sweep 'base' must be a run spec object, got ${show(base)}`);
  for (const k of Object.keys(base)) {
    if (!SPEC_KEYS.includes(k)) throw new SweepError(`unknown key 'base.${k}'; a run spec has ${SPEC_KEYS.join(', ')}`);
  }
  const axesRaw = raw.axes ?? {};
  if (!isRecord(axesRaw)) throw new SweepError(`sweep 'axes' must map axis keys to lists of values, got ${show(axesRaw)}`);
  const axes: [string, unknown[]][] = [];
  for (const [key, values] of Object.entries(axesRaw)) {
    checkAxisKey(key);
    if (!Array.isArray(values) || values.length === 0) throw new SweepError(`sweep axis '${key}' must be a non-empty list of values, got ${show(values)}`);
    if (new Set(values.map((v) => JSON.stringify(v))).size !== values.length) throw new SweepError(`sweep axis '${key}' repeats a value (${show(values)}); each run would be planned twice`);
    axes.push([key, values]);
  }
  let runsDir: string | undefined;
  if (raw.runsDir !== undefined) {
    if (typeof raw.runsDir !== 'string' || raw.runsDir === '') throw new SweepError(`sweep 'runsDir' must be a folder path, got ${show(raw.runsDir)}`);
    runsDir = path.resolve(where.file ? path.dirname(where.file) : process.cwd(), raw.runsDir);
  }
  return { name, runsDir, base: base as Partial<RunSpec>, axes, file: where.file };
}

/** An axis key is a run spec key, or train.<option> / overrides.<config key>. */
function checkAxisKey(key: string): void {
  const [head, sub, ...rest] = key.split('.');
  const known = `preset, seed, data, trainEvalTokens, train.<${SWEEP_TRAIN_KEYS.join('|')}> or overrides.<model config key>`;
  if (rest.length > 0 || !SPEC_KEYS.includes(head)) throw new SweepError(`unknown sweep axis '${key}'; an axis is one of ${known}`);
  if (head === 'train' || head === 'overrides') {
    if (!sub) throw new SweepError(`sweep axis '${key}' names no key; write ${head}.<key>, e.g. ${head === 'train' ? 'train.lr' : 'overrides.kvRank'}`);
    if (head === 'train' && !SWEEP_TRAIN_KEYS.includes(sub as keyof TrainOptions)) {
      throw new SweepError(`unknown sweep axis '${key}': '${sub}' is not a training option a sweep sets; use one of ${SWEEP_TRAIN_KEYS.join(', ')}`);
    }
  } else if (sub !== undefined) {
    throw new SweepError(`unknown sweep axis '${key}': '${head}' has no sub-keys; an axis is one of ${known}`);
  }
}

/** The spec with one axis value set (train.* and overrides.* merge into the base's objects). */
function withValue(spec: Partial<RunSpec>, key: string, value: unknown): Partial<RunSpec> {
  const [head, sub] = key.split('.');
  if (head === 'train') return { ...spec, train: { ...(spec.train ?? {}), [sub]: value } as RunSpec['train'] };
  if (head === 'overrides') return { ...spec, overrides: { ...(spec.overrides ?? {}), [sub]: value } as Partial<ModelConfig> };
  return { ...spec, [head]: value };
}

/** Why a spec cannot train, or undefined when it can. `field` is the spec key at fault, when known. */
function specProblem(spec: Partial<RunSpec>): { field?: string; message: string } | undefined {
  const fail = (field: string | undefined, message: string) => ({ field, message });
  if (typeof spec.preset !== 'string') return fail('preset', `no preset (got ${show(spec.preset)}); set base.preset or a 'preset' axis`);
  let config: ModelConfig;
  try {
    config = resolveConfig(spec.preset, spec.overrides ?? {});
  } catch (e) {
    const field = (e as { field?: string }).field;
    return fail(field === 'preset' ? 'preset' : field !== undefined ? `overrides.${field}` : undefined, (e as Error).message);
  }
  if (!Number.isInteger(spec.seed) || (spec.seed as number) < 0) return fail('seed', `seed ${show(spec.seed)} must be a non-negative integer`);
  if (typeof spec.data !== 'string') return fail('data', `data ${show(spec.data)} must be a data spec string such as 'embedded'`);
  try {
    parseDataSpec(spec.data);
  } catch (e) {
    return fail('data', (e as Error).message);
  }
  const tet = spec.trainEvalTokens ?? 0;
  if (!Number.isInteger(tet) || tet < 0) return fail('trainEvalTokens', `trainEvalTokens ${show(tet)} must be a non-negative integer (0: skip)`);
  const train = spec.train;
  if (!isRecord(train)) return fail('train', `train ${show(train)} must be an object of training options with at least tokens`);
  for (const k of Object.keys(train)) {
    if (!SWEEP_TRAIN_KEYS.includes(k as keyof TrainOptions)) return fail(`train.${k}`, `'${k}' is not a training option a sweep sets; use one of ${SWEEP_TRAIN_KEYS.join(', ')}`);
  }
  try {
    // The runner's defaults (lib/experiments/runs.ts ensureRun): 8 rows, the model's maxSeqLen.
    resolveTrainOptions({ batchSize: 8, seqLen: config.maxSeqLen, ...train, tokens: train.tokens as number, outDir: 'sweep-check', seed: spec.seed as number }, config.maxSeqLen);
  } catch (e) {
    const m = /invalid training option (\w+)/.exec((e as Error).message);
    return fail(m ? `train.${m[1]}` : 'train', (e as Error).message);
  }
  return undefined;
}

/** Whether the base spec sets `field` (a dotted path such as train.lr). */
function inBase(base: Partial<RunSpec>, field: string): boolean {
  const [head, sub] = field.split('.');
  const v = (base as Record<string, unknown>)[head];
  return sub === undefined ? v !== undefined : isRecord(v) && v[sub] !== undefined;
}

/** The sweep's runs, in index order; throws SweepError naming the axis (or base key) of the first bad value. */
export function expandSweep(sweep: SweepFile): SweepPoint[] {
  const base: Partial<RunSpec> = { seed: 0, data: 'embedded', ...sweep.base };
  // Each value alone on the base first, so the message names the axis that holds it.
  for (const [key, values] of sweep.axes) {
    for (const value of values) {
      const p = specProblem(withValue(base, key, value));
      if (p && p.field !== undefined && (p.field === key || p.field.startsWith(`${key}.`))) {
        throw new SweepError(`sweep axis '${key}' value ${show(value)} is refused: ${p.message}`);
      }
    }
  }
  const points: SweepPoint[] = [];
  const combos = sweep.axes.reduce<Record<string, unknown>[]>((acc, [key, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [key]: v }))), [{}]);
  for (const values of combos) {
    const spec = Object.entries(values).reduce((s, [k, v]) => withValue(s, k, v), base);
    const p = specProblem(spec);
    if (p) {
      const where = p.field === undefined ? 'this run' : p.field in values ? `axis '${p.field}'` : inBase(sweep.base, p.field) ? `base.${p.field}` : 'this run';
      const axes = Object.entries(values).map(([k, v]) => `${k}=${show(v)}`).join(', ');
      throw new SweepError(`sweep run ${points.length}${axes ? ` (${axes})` : ''} is refused at ${where}: ${p.message}`);
    }
    points.push({ index: points.length, spec: spec as RunSpec, values });
  }
  return points;
}
