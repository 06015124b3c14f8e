// RoPE on every dim of a decoupled head (ropeDim = D): MLA and MHA with decoupled RoPE have no no-RoPE part, every
// key is the one rotated key shared by all heads, and the values stay per head (MLA's from the latent). Checked
// against a plain-array oracle of that definition (nothing shared with lib/attention), through the cost functions,
// and by cached decoding in every cache mode against the full forward (op path and the simulated fused step).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../../lib/config/presets';
import { deriveSizes } from '../../lib/config/model-config';
import { createAttention } from '../../lib/attention/factory';
import { ropeTables } from '../../lib/attention/rope';
import { referenceAttention, type Heads } from '../../lib/attention/reference';
import { parameterShapes } from '../../lib/costs/params';
import { kvElementsPerTokenPerLayer } from '../../lib/costs/kv-cache';
import { cacheModesFor, type CacheMode } from '../../lib/costs/cache-modes';
import { maxAbsDiff, sharpModel, sharpParams, tokenIds, useCpu } from '../helpers/models';
import { decodeInPieces } from '../helpers/decode';

const KINDS = ['tiny-mla-rope', 'tiny-mha-decoupled-rope'];
const D = 16; // the tiny presets' head dim

type M = number[][];
const rows = (t: tf.Tensor, cols: number): M => {
  const a = Array.from(t.dataSync());
  return Array.from({ length: a.length / cols }, (_, i) => a.slice(i * cols, (i + 1) * cols));
};
const mm = (a: M, w: M): M => a.map((r) => w[0].map((_, j) => r.reduce((s, x, k) => s + x * w[k][j], 0)));
const cols = (a: M, from: number, to: number): M => a.map((r) => r.slice(from, to));
function ln(a: M, g: number[], b: number[]): M {
  return a.map((r) => {
    const mu = r.reduce((s, x) => s + x, 0) / r.length;
    const v = r.reduce((s, x) => s + (x - mu) ** 2, 0) / r.length;
    return r.map((x, i) => ((x - mu) / Math.sqrt(v + 1e-5)) * g[i] + b[i]);
  });
}
/** Rotate-half RoPE of a whole D-dim vector at position p, frequencies θ^(−2i/D). */
function rot(x: number[], p: number): number[] {
  const h = x.length / 2;
  return x.map((_, j) => {
    const i = j % h;
    const a = p * Math.pow(10000, (-2 * i) / x.length);
    const partner = j < h ? -x[j + h] : x[j - h];
    return x[j] * Math.cos(a) + partner * Math.sin(a);
  });
}

/** One layer's attention output (T, C) for one sequence x (T, C) by the definition, from the weights. */
function oracle(kind: string, w: (n: string) => tf.Tensor, x: M, H: number): M {
  const W = (n: string) => rows(w(n), w(n).shape[1] ?? 1);
  const V = (n: string) => Array.from(w(n).dataSync());
  let q: M; // (T, H·D)
  let k: M; // (T, D): the shared key before rotation
  let v: M; // (T, H·D)
  if (kind === 'mla') {
    const Rkv = w('kv_norm.weight').shape[0];
    q = mm(ln(mm(x, W('w_dq')), V('q_norm.weight'), V('q_norm.bias')), W('w_uq'));
    const dkv = mm(x, W('w_dkv'));
    k = cols(dkv, Rkv, Rkv + D);
    v = mm(ln(cols(dkv, 0, Rkv), V('kv_norm.weight'), V('kv_norm.bias')), W('w_ukv'));
  } else {
    const qv = mm(x, W('w_qv'));
    q = cols(qv, 0, H * D);
    v = cols(qv, H * D, 2 * H * D);
    k = mm(x, W('w_k'));
  }
  const keys = k.map((r, t) => rot(r, t)); // (T, D)
  const head = (a: M, h: number) => a.map((r) => r.slice(h * D, (h + 1) * D));
  const qh: Heads = [Array.from({ length: H }, (_, h) => head(q, h).map((r, t) => rot(r, t)))];
  const kh: Heads = [Array.from({ length: H }, () => keys)];
  const vh: Heads = [Array.from({ length: H }, (_, h) => head(v, h))];
  const o = referenceAttention(qh, kh, vh, 0, 1 / Math.sqrt(D))[0]; // (H, T, D)
  const merged = o[0].map((_, t) => o.flatMap((hh) => hh[t])); // (T, H·D)
  return mm(merged, W('w_o'));
}

for (const preset of KINDS) {
  test(`${preset} with ropeDim = D: no no-RoPE dims, the shapes and the cache the costs count`, () => {
    const c = resolveConfig(preset, { ropeDim: D });
    const s = deriveSizes(c);
    assert.equal(s.nopeDim, 0);
    assert.equal(s.rotaryDim, D);
    const shapes = parameterShapes(c);
    const H = c.nHeads;
    if (c.attention === 'mla') {
      assert.deepEqual(shapes['blocks.0.attn.w_ukv'], [c.kvRank, H * D], 'W_ukv makes values only');
      assert.deepEqual(shapes['blocks.0.attn.w_dkv'], [c.dModel, c.kvRank + D]);
      assert.equal(kvElementsPerTokenPerLayer(c, 'latent'), c.kvRank + D);
    } else {
      assert.deepEqual(shapes['blocks.0.attn.w_k'], [c.dModel, D], 'one shared key, no per-head part');
      assert.equal(kvElementsPerTokenPerLayer(c, 'kv'), D + H * D);
    }
    assert.throws(() => resolveConfig(preset, { ropeDim: D + 2 }), /ropeDim = 18; decoupled RoPE needs an even ropeDim with 0 < ropeDim ≤ head dim \(16\)/);
  });

  test(`${preset} with ropeDim = D: the layer is attention with one shared rotated key (plain-array oracle)`, async () => {
    await useCpu();
    const c = resolveConfig(preset, { ropeDim: D, dropout: 0 });
    const params = sharpParams(c, 3);
    const w = (n: string) => params[`blocks.0.attn.${n}`];
    const layer = createAttention(c, w, ropeTables(D, D, c.ropeTheta, c.maxSeqLen));
    const T = 9;
    const x = tf.randomNormal([1, T, c.dModel], 0, 1, 'float32', 11) as tf.Tensor3D;
    const got = rows(layer.forward(x), c.dModel);
    const want = oracle(c.attention, w, rows(x, c.dModel), c.nHeads);
    const diff = Math.max(...got.flatMap((r, i) => r.map((g, j) => Math.abs(g - want[i][j]))));
    const scaleOf = Math.max(...want.flat().map(Math.abs));
    assert.ok(scaleOf > 0.1, `the oracle's output is not trivially small (${scaleOf})`);
    assert.ok(diff <= 1e-4 * Math.max(1, scaleOf), `max |layer − oracle| = ${diff}`);
    tf.dispose([x, ...Object.values(params)]);
  });

  test(`${preset} with ropeDim = D: cached decoding equals the full forward in every cache mode`, async () => {
    await useCpu();
    const model = sharpModel(preset, { ropeDim: D });
    const ids = tokenIds(2, 24, model.config.vocabSize);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
    for (const mode of ['none', ...cacheModesFor(model.config)] as CacheMode[]) {
      const cached = decodeInPieces(model, mode, ids, 5).logits;
      const diff = maxAbsDiff(cached, full);
      assert.ok(diff <= 1e-4, `${mode}: max |cached − full| = ${diff}`);
      cached.dispose();
    }
    full.dispose();
    model.dispose();
  });
}

