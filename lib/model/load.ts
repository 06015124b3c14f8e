// A model from a checkpoint file: the config comes from the file's metadata, the weights become variables.
import { loadCheckpoint } from '../checkpoint/checkpoint';
import type { ModelConfig } from '../config/model-config';
import { GPT } from './gpt';
import { paramsFromTensors } from './init';

export function loadModel(file: string, expectedConfig?: ModelConfig): { model: GPT; metadata: Record<string, string> } {
  const { config, tensors, metadata } = loadCheckpoint(file, expectedConfig);
  const params = paramsFromTensors(config, tensors);
  for (const t of Object.values(tensors)) t.dispose(); // the variables hold their own copies
  return { model: new GPT(config, params), metadata };
}
