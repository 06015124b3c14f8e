// A whole training step (forward, loss with dropout, every gradient) of a real model with native kernels
// equals the same step on tfjs's JS kernels.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../lib/backend';
import { resolveConfig } from '../../../lib/config/presets';
import { createModel } from '../../../lib/model/gpt';
import { assertClose, nativeSkipReason } from './helpers';

async function lossAndGrads(native: boolean): Promise<Record<string, Float32Array>> {
  await initBackend('cpu', { native });
  const model = createModel(resolveConfig('tiny-mla-rope', { vocabSize: 50 }), 3);
  const [B, T] = [2, 16];
  const row = (i: number) => (i * 7 + 3) % 50;
  const ids = tf.tensor2d(Array.from({ length: B * T }, (_, i) => row(i)), [B, T], 'int32');
  const targets = tf.tensor2d(Array.from({ length: B * T }, (_, i) => row(i + 1)), [B, T], 'int32');
  const { value, grads } = tf.variableGrads(() => model.loss(ids, targets, { training: true, dropoutSeed: 9 }), Object.values(model.params));
  const out: Record<string, Float32Array> = { loss: value.dataSync() as Float32Array };
  // grads are keyed by tfjs's variable names, which differ between the two models; key by parameter.
  for (const [name, v] of Object.entries(model.params)) out[name] = grads[v.name].dataSync() as Float32Array;
  tf.dispose([value, ids, targets, ...Object.values(grads)]);
  model.dispose();
  return out;
}

test('training step of tiny-mla-rope: loss and all gradients equal with native and JS kernels', { skip: nativeSkipReason() }, async () => {
  const js = await lossAndGrads(false);
  const nat = await lossAndGrads(true);
  for (const name of Object.keys(js)) assertClose(nat[name], js[name], 1e-4, name);
});
