// The fused decode step (lib/ops/decode-linear.ts hasDecodeStepKernels: the attention layers' residualStep and the
// model's decodeMlp) end to end on the CPU: the step kernels' WebGPU shaders, translated to JavaScript and registered
// as 'cpu' kernels (with the fused decode attention's), take every decode step, and cached decoding must still give
// the full forward pass's logits in every cache mode, and the op path's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cacheModesFor, type CacheMode } from '../../lib/costs/cache-modes';
import type { ModelConfig } from '../../lib/config/model-config';
import type { CacheQuant } from '../../lib/costs/kv-cache';
import { registerCpuOpKernels } from '../../lib/backend';
import { DECODE_LINEAR_KERNEL, DECODE_LINEAR_MAX_ROWS, decodeLinearMaxRows, setDecodeLinearMaxRows } from '../../lib/ops/decode-linear';
import { DECODE_HEADS_KERNEL } from '../../lib/ops/decode-heads';
import { CACHE_WRITE_FROM_KERNEL } from '../../lib/ops/cache-write';
import { DECODE_LINEAR_KERNELS } from '../../lib/backend/webgpu/kernels/decode-linear';
import { DECODE_HEADS_KERNELS } from '../../lib/backend/webgpu/kernels/decode-heads';
import { DECODE_ATTENTION_KERNELS } from '../../lib/backend/webgpu/kernels/decode-attention';
import { registerSimulated, registerSimulatedCacheWriteFrom } from '../helpers/simulated-kernels';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';
import { decodeInPieces } from '../helpers/decode';

registerCpuOpKernels(); // the in-place cache write the fused step's buffers are grown with

const PROMPT = 5;
const STEPS = 6;


/** Runs f with the step kernels simulated on 'cpu', counting each one's calls. */
function withStepKernels<T>(f: () => T): { value: T; calls: Record<string, number> } {
  const unregister = [registerSimulated([...DECODE_LINEAR_KERNELS, ...DECODE_HEADS_KERNELS, ...DECODE_ATTENTION_KERNELS]), registerSimulatedCacheWriteFrom()];
  const calls: Record<string, number> = {};
  const names = [DECODE_LINEAR_KERNEL, DECODE_HEADS_KERNEL, CACHE_WRITE_FROM_KERNEL];
  const wrapped = names.map((n) => {
    const k = tf.getKernel(n, 'cpu')!;
    tf.unregisterKernel(n, 'cpu');
    tf.registerKernel({ ...k, kernelFunc: (args) => ((calls[n] = (calls[n] ?? 0) + 1), k.kernelFunc(args)) });
    return n;
  });
  try {
    return { value: f(), calls };
  } finally {
    for (const n of wrapped) tf.unregisterKernel(n, 'cpu');
    unregister.forEach((u) => u());
  }
}

const STEP_CASES: [string, Partial<ModelConfig>][] = [
  ['tiny-mha-rope', {}], ['tiny-gqa-rope', {}], ['tiny-mha-norope', {}], ['tiny-mla-rope', {}], ['tiny-mla-norope', {}],
  ['tiny-mla-rope', { ropeDim: 16 }], // RoPE on all 16 dims: no no-RoPE part, every key the shared RoPE key
  ['tiny-mha-decoupled-rope', {}], ['tiny-mha-decoupled-rope', { ropeDim: 16 }],
];
for (const [preset, extra] of STEP_CASES) {
  test(`${preset} ${JSON.stringify(extra)}: the fused decode step (simulated shaders) equals the full forward pass and the op path in every cache mode`, async () => {
    await useCpu();
    const model = sharpModel(preset, { nLayers: 1, ...extra });
    const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
    const full = model.logits(tf.tensor2d(ids, undefined, 'int32')); // (B, T, V)
    for (const mode of cacheModesFor(model.config)) {
      const ops = decodeInPieces(model, mode, ids, PROMPT).logits;
      const { value: fused, calls } = withStepKernels(() => decodeInPieces(model, mode, ids, PROMPT).logits);
      // Each step: the layer's projections (2-4 decode linears) and the MLP's two; gathers and cache writes.
      assert.ok((calls[DECODE_LINEAR_KERNEL] ?? 0) >= 4 * STEPS, `${mode}: the decode linear ran (${JSON.stringify(calls)})`);
      assert.ok((calls[CACHE_WRITE_FROM_KERNEL] ?? 0) >= STEPS, `${mode}: the cache was written from the projection rows (${JSON.stringify(calls)})`);
      const dFull = maxAbsDiff(fused, full);
      const dOps = maxAbsDiff(fused, ops);
      assert.ok(dFull <= 1e-4, `${preset} ${mode}: max |fused cached − full| = ${dFull}`);
      assert.ok(dOps <= 1e-4, `${preset} ${mode}: max |fused − op path| = ${dOps}`);
      tf.dispose([ops, fused]);
    }
    full.dispose();
    model.dispose();
  });
}

// A quantized latent cache on the step: its new rows go through the ops (LayerNorm, quantize, dequantize) and are
// written in place; the projections, gathers, attention and W_o are the step's. It must equal the op path's
// quantized decode: the same codes, up to a row whose fp32 rounding puts one value on the other side of a code's edge.
for (const preset of ['tiny-mla-rope', 'tiny-mla-norope']) {
  test(`${preset}: a quantized latent cache takes the fused step and decodes as the op path's quantized cache`, async () => {
    await useCpu();
    const model = sharpModel(preset, { nLayers: 1 });
    const ids = tokenIds(2, PROMPT + STEPS, model.config.vocabSize);
    for (const mode of ['latent', 'absorbed'] as const) {
      for (const quant of [{ format: 'int8', groupSize: 32 }, { format: 'int4', groupSize: 16 }] as CacheQuant[]) {
        const ops = decodeInPieces(model, mode, ids, PROMPT, quant);
        const fp32 = decodeInPieces(model, mode, ids, PROMPT);
        const { value: fused, calls } = withStepKernels(() => decodeInPieces(model, mode, ids, PROMPT, quant));
        const what = `${mode} ${quant.format}/${quant.groupSize}`;
        assert.ok((calls[DECODE_LINEAR_KERNEL] ?? 0) >= 4 * STEPS, `${what}: the decode linear ran (${JSON.stringify(calls)})`);
        assert.equal(fused.bytes, ops.bytes, `${what}: the cache holds the format's bytes`);
        const dOps = maxAbsDiff(fused.logits, ops.logits);
        const dQuant = maxAbsDiff(ops.logits, fp32.logits);
        assert.ok(dQuant > 1e-3, `${what}: quantizing changes the logits (${dQuant}), so the check below can tell`);
        assert.ok(dOps <= 1e-4, `${what}: max |fused − op path| = ${dOps} (quantization itself moves them ${dQuant})`);
        tf.dispose([ops.logits, fp32.logits, fused.logits]);
      }
    }
    model.dispose();
  });
}

test('a step of more rows than the default 16 (batch 20) takes the fused step only where the backend raised its limit, and equals the full forward', async () => {
  await useCpu();
  const model = sharpModel('tiny-mla-rope', { nLayers: 1 });
  const B = 20;
  const ids = tokenIds(B, PROMPT + 2, model.config.vocabSize);
  const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
  assert.equal(decodeLinearMaxRows('cpu'), DECODE_LINEAR_MAX_ROWS);
  const plain = withStepKernels(() => decodeInPieces(model, 'absorbed', ids, PROMPT).logits);
  assert.equal(plain.calls[CACHE_WRITE_FROM_KERNEL] ?? 0, 0, '20 rows > 16: the op path');
  setDecodeLinearMaxRows('cpu', 64);
  try {
    const fused = withStepKernels(() => decodeInPieces(model, 'absorbed', ids, PROMPT).logits);
    assert.ok((fused.calls[CACHE_WRITE_FROM_KERNEL] ?? 0) >= 2, `the fused step ran (${JSON.stringify(fused.calls)})`);
    const d = maxAbsDiff(fused.value, full);
    assert.ok(d <= 1e-4, `max |fused cached − full| = ${d}`);
    tf.dispose(fused.value);
  } finally {
    setDecodeLinearMaxRows('cpu', null);
  }
  assert.throws(() => setDecodeLinearMaxRows('cpu', 0), /max rows 0 must be a whole number 1\.\.256/);
  tf.dispose([plain.value, full]);
  model.dispose();
});
