// The conversion on files and on live models: the same convertMhaToMla, fed from a checkpoint or from a
// model's variables, written back as a checkpoint or wrapped as a new GPT.
import * as tf from '@tensorflow/tfjs-core';
import { CHECKPOINT_FORMAT, checkShapes, configFromMetadata } from '../checkpoint/checkpoint';
import { CheckpointError } from '../checkpoint/errors';
import { RawTensor, readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import { parameterShapes } from '../costs/params';
import { GPT } from '../model/gpt';
import { paramsFromTensors } from '../model/init';
import { ConvertOptions, ConvertReport, ConvertResult, convertMhaToMla } from './mha-to-mla';

/** The report without the per-layer singular values: what a checkpoint's metadata keeps. */
export function reportSummary(r: ConvertReport): object {
  return { ...r, layers: r.layers.map(({ kvSingular: _s, ...rest }) => rest) };
}

/** Reads an MHA checkpoint, converts it, and writes the MLA checkpoint (atomically) to `out`. */
export function convertCheckpoint(from: string, out: string, opts: ConvertOptions): ConvertResult {
  const content = readSafetensors(from);
  const config = configFromMetadata(from, content.metadata);
  const shapes = Object.fromEntries(Object.entries(content.tensors).map(([n, t]) => [n, t.shape]));
  checkShapes(from, shapes, parameterShapes(config));
  const weights: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(content.tensors)) {
    if (!(t.data instanceof Float32Array)) throw new CheckpointError(`tensor '${name}' in ${from} is ${t.dtype}; conversion reads F32 weights`);
    weights[name] = t.data;
  }
  const result = convertMhaToMla(config, weights, opts);
  const shapesOut = parameterShapes(result.config);
  const raw: Record<string, RawTensor> = {};
  for (const [name, shape] of Object.entries(shapesOut)) raw[name] = { dtype: 'F32', shape, data: result.weights[name] };
  const keep = Object.fromEntries(Object.entries(content.metadata).filter(([k]) => k === 'tokenizer'));
  writeSafetensors(out, raw, {
    ...keep,
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(result.config),
    convertedFrom: from,
    conversion: JSON.stringify(reportSummary(result.report)),
  });
  return result;
}

/** Converts a live MHA-family model; the new model owns fresh variables (the source is left as it was). */
export async function convertModel(model: GPT, opts: ConvertOptions): Promise<{ model: GPT; report: ConvertReport }> {
  const weights: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(model.params)) weights[name] = (await p.data()) as Float32Array;
  const result = convertMhaToMla(model.config, weights, opts);
  const tensors = Object.fromEntries(Object.entries(parameterShapes(result.config)).map(([n, s]) => [n, tf.tensor(result.weights[n], s)]));
  const params = paramsFromTensors(result.config, tensors);
  tf.dispose(Object.values(tensors));
  return { model: new GPT(result.config, params), report: result.report };
}
