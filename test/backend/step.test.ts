// A whole training step (forward, loss, every gradient) of the stand-in transformer with native kernels
// equals the same step on tfjs's JS kernels.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { createStandin, standinBatch } from '../../lib/bench/standin-model';
import { assertClose, nativeSkipReason } from './helpers';

async function lossAndGrads(native: boolean): Promise<Record<string, Float32Array>> {
  await initBackend('cpu', { native });
  const cfg = { batch: 2, seqLen: 16, dModel: 32, heads: 4, layers: 2, vocab: 50, seed: 3 };
  const model = createStandin(cfg);
  const { ids, targets } = standinBatch(cfg, 9);
  const { value, grads } = tf.variableGrads(() => model.loss(ids, targets));
  const out: Record<string, Float32Array> = { loss: value.dataSync() as Float32Array };
  // grads are keyed by tfjs's variable names, which differ between the two models; key by parameter.
  for (const [name, v] of Object.entries(model.params)) out[name] = grads[v.name].dataSync() as Float32Array;
  tf.dispose([value, ids, targets, ...Object.values(grads)]);
  model.dispose();
  return out;
}

test('stand-in training step: loss and all gradients equal with native and JS kernels', { skip: nativeSkipReason() }, async () => {
  const js = await lossAndGrads(false);
  const nat = await lossAndGrads(true);
  for (const name of Object.keys(js)) assertClose(nat[name], js[name], 1e-4, name);
});
