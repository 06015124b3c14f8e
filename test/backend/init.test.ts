// initBackend: what each choice reports or raises on this machine, and switching native kernels on and off.
import { test } from 'node:test';
import { SettingsError, cpuSettingsFromEnv, parseFusedGroups } from '../../lib/settings';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  BackendError,
  describeBackend,
  initBackend,
  loadAddon,
  originalKernel,
  parseBackendChoice,
  resolveThreads,
} from '../../lib/backend';
import { probeTensorflow } from '../../lib/backend/tensorflow';
import { probeWebgpu } from '../../lib/backend/webgpu/init';

test("initBackend('cpu') reports native kernels exactly when the addon loads", async () => {
  const { addon, reason } = loadAddon();
  const init = await initBackend('cpu');
  assert.equal(init.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.equal(init.native, addon !== null, `addon: ${reason ?? 'loaded'}`);
  const d = describeBackend();
  assert.equal(d.native, init.native);
  if (init.native) {
    assert.ok(d.nativeKernels.includes('BatchMatMul') && d.nativeKernels.includes('_FusedMatMul'));
    assert.match(d.blas ?? '', /\S/);
    assert.ok((d.threads ?? 0) >= 1);
  } else {
    assert.ok(init.notes.some((n) => n.includes('native kernels unavailable')) || init.notes.length === 0);
  }
});

test("initBackend('cpu', { native: false }) puts tfjs's JS kernels back", { skip: loadAddon().addon ? undefined : 'addon not built' }, async () => {
  await initBackend('cpu', { native: true });
  const nativeFunc = tf.getKernel('BatchMatMul', 'cpu')?.kernelFunc;
  const original = originalKernel('BatchMatMul');
  assert.ok(original && nativeFunc !== original, 'a native BatchMatMul is registered');
  const off = await initBackend('cpu', { native: false });
  assert.equal(off.native, false);
  assert.equal(describeBackend().nativeKernels.length, 0);
  assert.equal(tf.getKernel('BatchMatMul', 'cpu')?.kernelFunc, original, 'the JS kernel is back');
  assert.ok(off.notes.some((n) => n.includes('native kernels off')));
  // And on again, with results unchanged either way.
  const a = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
  const b = tf.randomNormal([4, 2], 0, 1, 'float32', 2);
  const js = tf.matMul(a, b).dataSync();
  await initBackend('cpu', { native: true });
  const nat = tf.matMul(a, b).dataSync();
  js.forEach((v, i) => assert.ok(Math.abs(v - nat[i]) < 1e-5));
});

test("initBackend('tensorflow') raises a BackendError naming both packages when neither is installed", async (t) => {
  if (!('reasons' in probeTensorflow())) return t.skip('@tensorflow/tfjs-node is installed here');
  await assert.rejects(initBackend('tensorflow'), (err: unknown) => {
    assert.ok(err instanceof BackendError);
    assert.equal(err.name, 'BackendError');
    assert.match(err.message, /@tensorflow\/tfjs-node-gpu/);
    assert.match(err.message, /@tensorflow\/tfjs-node\b/);
    assert.match(err.message, /--backend cpu/);
    return true;
  });
});

test("initBackend('auto') falls back to cpu when tfjs-node is absent", async (t) => {
  if (!('reasons' in probeTensorflow())) return t.skip('@tensorflow/tfjs-node is installed here');
  const init = await initBackend('auto');
  assert.equal(init.backend, 'cpu');
});

test("initBackend('webgpu') runs a matmul on a GPU adapter, or raises a BackendError without one", async (t) => {
  const adapter = await probeWebgpu().catch((e: Error) => `error: ${e.message}`);
  if (adapter === null) {
    await assert.rejects(initBackend('webgpu'), (err: unknown) => err instanceof BackendError && /no GPU adapter/.test(err.message));
    await initBackend('cpu');
    return t.skip('no WebGPU adapter on this machine (checked that initBackend raises the BackendError)');
  }
  if (adapter.startsWith('error:')) return t.skip(`webgpu package unusable here: ${adapter}`);
  const init = await initBackend('webgpu');
  assert.equal(init.backend, 'webgpu');
  assert.match(init.device, /\S/);
  const c = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2]));
  assert.deepEqual(Array.from(await c.data()), [3, 3, 3, 3]);
  await initBackend('cpu');
});

test('bad backend names and thread counts are SettingsErrors that say what to use', () => {
  assert.throws(() => parseBackendChoice('gpu'), (e: unknown) => e instanceof SettingsError && /^backend='gpu' is refused: allowed: auto, cpu, webgpu, tensorflow/.test(e.message));
  assert.throws(() => cpuSettingsFromEnv({ MLA_THREADS: 'two' }), (e: unknown) => e instanceof SettingsError && /^MLA_THREADS='two' is refused: allowed: a whole number from 1 to 1024/.test(e.message));
  assert.throws(() => resolveThreads(0), SettingsError);
  assert.equal(resolveThreads(undefined, cpuSettingsFromEnv({ MLA_THREADS: '3' }).threads), 3);
  assert.equal(resolveThreads(2, 3), 2, 'the option over the setting');
});

test('MLA_WEBGPU_FUSED names the fused kernel groups: all, none, a list; anything else is refused with the choices', () => {
  assert.deepEqual(parseFusedGroups('all').sort(), ['adamw', 'attention', 'cache', 'decode', 'dropout', 'heads', 'layernorm', 'loss', 'norm', 'rope', 'step', 'sums']);
  assert.deepEqual(parseFusedGroups('none'), []);
  assert.deepEqual(parseFusedGroups('attention, norm').sort(), ['attention', 'norm']);
  assert.throws(() => parseFusedGroups('attention,softmax'), /^SettingsError: MLA_WEBGPU_FUSED='attention,softmax' is refused: 'softmax' is not a group; allowed: all, none, or a list of attention, layernorm, norm, rope, adamw, sums, heads, loss, dropout, cache, decode, step$/);
});
