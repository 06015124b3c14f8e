// Gradients of a tiny model against central finite differences, along random directions in weight space.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../../lib/config/presets';
import { GPT } from '../../lib/model/gpt';
import { sharpParams, tokenIds, useCpu } from '../helpers/models';

const SMALL = { vocabSize: 13, dModel: 16, nHeads: 2, nLayers: 1, maxSeqLen: 8, dropout: 0 };

for (const [preset, extra] of [
  ['tiny-mha-rope', { nKvHeads: 2 }],
  ['tiny-gqa-norope', { nHeads: 4, nKvHeads: 2 }],
  ['tiny-mla-rope', { qRank: 8, kvRank: 6, ropeDim: 4 }],
  ['tiny-mla-norope', { qRank: 8, kvRank: 6 }],
  ['tiny-mha-decoupled-rope', { ropeDim: 4, nKvHeads: 2 }],
  ['tiny-mla-rope', { qRank: 8, kvRank: 6, ropeDim: 8 }], // RoPE on all 8 dims: no no-RoPE part
  ['tiny-mha-decoupled-rope', { ropeDim: 8, nKvHeads: 2 }],
] as const) {
  test(`${preset} ${JSON.stringify(extra)}: gradients match finite differences`, async () => {
    await useCpu();
    const c = resolveConfig(preset, { ...SMALL, ...extra });
    const model = new GPT(c, sharpParams(c, 11, 0.3));
    const ids = tf.tensor2d(tokenIds(2, 6, c.vocabSize, 3), undefined, 'int32');
    const targets = tf.tensor2d(tokenIds(2, 6, c.vocabSize, 4), undefined, 'int32');
    const loss = () => model.loss(ids, targets);
    const { grads } = tf.variableGrads(loss, Object.values(model.params));
    const names = Object.keys(model.params);
    for (let trial = 0; trial < 3; trial++) {
      // A unit direction: half the gradient's direction (so the derivative is large against float32 noise),
      // half random (so an error in any component still shows).
      const gradOf = (n: string) => grads[model.params[n].name];
      const gNorm = Math.sqrt(names.reduce((a, n) => a + tf.sum(tf.square(gradOf(n))).dataSync()[0], 0));
      const rand: Record<string, tf.Tensor> = {};
      for (const n of names) rand[n] = tf.randomNormal(model.params[n].shape, 0, 1, 'float32', 100 * trial + names.indexOf(n));
      const rNorm = Math.sqrt(names.reduce((a, n) => a + tf.sum(tf.square(rand[n])).dataSync()[0], 0));
      const dir: Record<string, tf.Tensor> = {};
      let norm2 = 0;
      for (const n of names) {
        dir[n] = tf.add(tf.div(gradOf(n), gNorm), tf.div(rand[n], rNorm));
        norm2 += tf.sum(tf.square(dir[n])).dataSync()[0];
      }
      const scale = 1 / Math.sqrt(norm2);
      let analytic = 0;
      for (const n of names) analytic += tf.sum(tf.mul(gradOf(n), dir[n])).dataSync()[0] * scale;
      const original = names.map((n) => model.params[n].clone());
      const eps = 2e-3;
      const at = (sign: number) => {
        names.forEach((n, i) => model.params[n].assign(tf.add(original[i], tf.mul(dir[n], sign * eps * scale))));
        return loss().dataSync()[0];
      };
      const numeric = (at(1) - at(-1)) / (2 * eps);
      names.forEach((n, i) => model.params[n].assign(original[i]));
      assert.ok(Math.abs(analytic) > 1e-2, `direction ${trial}: gradient too small to test (${analytic})`);
      const rel = Math.abs(numeric - analytic) / Math.abs(analytic);
      assert.ok(rel < 1e-2, `direction ${trial}: analytic ${analytic}, numeric ${numeric}, rel ${rel}`);
      tf.dispose([...Object.values(dir), ...Object.values(rand), ...original]);
    }
    model.dispose();
  });
}
