// A model from a checkpoint file: the config comes from the file's metadata, the weights become variables.
import { loadCheckpoint } from '../checkpoint/checkpoint';
import { type ModelConfig, deriveSizes } from '../config/model-config';
import { GPT } from './gpt';
import { paramsFromTensors } from './init';

export interface LoadModelOptions {
  /**
   * Decode up to this many positions instead of the checkpoint's maxSeqLen: RoPE models only (their rotary
   * tables are built from the config; a learned position table has the length it was trained with).
   */
  maxSeqLen?: number;
}

export function loadModel(file: string, expectedConfig?: ModelConfig, opts: LoadModelOptions = {}): { model: GPT; metadata: Record<string, string> } {
  const { config: saved, tensors, metadata } = loadCheckpoint(file, expectedConfig);
  const config = withMaxSeqLen(saved, opts.maxSeqLen);
  const params = paramsFromTensors(config, tensors);
  for (const t of Object.values(tensors)) t.dispose(); // the variables hold their own copies
  return { model: new GPT(config, params), metadata };
}

/** config with another maxSeqLen, refused where the weights depend on it (learned positions). */
export function withMaxSeqLen(config: ModelConfig, maxSeqLen: number | undefined): ModelConfig {
  if (maxSeqLen === undefined || maxSeqLen === config.maxSeqLen) return config;
  if (deriveSizes(config).learnedPositions) {
    throw new RangeError(`maxSeqLen ${maxSeqLen}: this model has learned positions, a table of ${config.maxSeqLen} rows; only RoPE models decode past it`);
  }
  return { ...config, maxSeqLen };
}
