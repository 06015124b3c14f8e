// The cache write of lib/ops/cache-write.ts: the cpu kernel (lib/backend/cpu/kernels/cache-write.ts) and the
// WebGPU shader (lib/backend/webgpu/kernels/cache-write.ts, translated to JavaScript by test/helpers/wgsl-js.ts
// and run over a buffer's own storage) against a concat built here, at several positions; the result sharing the
// buffer's storage; the reference path; and whole models decoding with the shader as the cache's writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { CACHE_WRITE_KERNEL, cacheWrite, cacheWriteReference, dataVersion, hasCacheWriteKernel } from '../../lib/ops';
import { registerCpuOpKernels } from '../../lib/backend';
import {
  CACHE_WRITE4_THREADS, CACHE_WRITE4_WGSL, CACHE_WRITE_WGSL, CACHE_WRITE_THREADS, cacheWriteDispatch, cacheWriteUniforms, cacheWriteVec4,
} from '../../lib/backend/webgpu/kernels/cache-write';
import { CPU_CACHE_WRITE } from '../../lib/backend/cpu/kernels/cache-write';
import { runWorkgroupShader } from '../helpers/wgsl-js';
import { cacheModesFor, type CacheMode } from '../../lib/costs/cache-modes';
import { maxAbsDiff, sharpModel, tokenIds, useCpu } from '../helpers/models';

registerCpuOpKernels();

type Shape = [number, number, number, number];

/** Distinct values (integers: exact in f32 and i32) for a (B, X, S, W) tensor. */
const values = (shape: Shape, base: number) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => base + i);

/** buf with rows start .. start + t − 1 replaced, by plain indexing: the oracle. */
function spliced(buf: number[], bufShape: Shape, rows: number[], t: number, start: number): number[] {
  const [B, X, cap, W] = bufShape;
  const out = buf.slice();
  for (let r = 0; r < B * X; r++) for (let i = 0; i < t; i++) for (let w = 0; w < W; w++) out[(r * cap + start + i) * W + w] = rows[(r * t + i) * W + w];
  return out;
}

// (buffer shape, rows written, position): the first rows, the middle, the last rows exactly, one row, and a B·X·t·W
// that is no multiple of the 64 threads of a workgroup.
const WRITES: [Shape, number, number][] = [
  [[2, 3, 64, 5], 7, 0],
  [[2, 3, 64, 5], 1, 33],
  [[2, 3, 64, 5], 4, 60],
  [[1, 1, 70, 341], 1, 69],
  [[3, 1, 10, 7], 10, 0],
];

for (const dtype of ['float32', 'int32'] as const) {
  test(`cpu cache write in place (${dtype}): several positions equal a concat, the result holds the buffer's storage`, async () => {
    await useCpu();
    assert.ok(hasCacheWriteKernel());
    for (const [shape, t, start] of WRITES) {
      const rowsShape: Shape = [shape[0], shape[1], t, shape[3]];
      const bufValues = values(shape, 1000);
      const rowValues = values(rowsShape, -500);
      const buf = tf.tensor4d(bufValues, shape, dtype);
      const rows = tf.tensor4d(rowValues, rowsShape, dtype);
      const want = spliced(bufValues, shape, rowValues, t, start);
      const before = dataVersion(buf);
      const out = cacheWrite(buf, rows, start);
      assert.equal(out.dataId, buf.dataId, 'written in place: the same storage');
      assert.deepEqual(Array.from(out.dataSync()), want, `(${shape}) ${t} rows at ${start}`);
      assert.deepEqual(Array.from(buf.dataSync()), want, 'the old handle sees the write');
      assert.equal(dataVersion(out), before + 1, 'an in-place write is counted');
      // The reference, on fresh inputs: the same values, in a new tensor, the buffer unchanged.
      const buf2 = tf.tensor4d(bufValues, shape, dtype);
      const ref = cacheWriteReference(buf2, rows, start);
      assert.notEqual(ref.dataId, buf2.dataId);
      assert.deepEqual(Array.from(ref.dataSync()), want);
      assert.deepEqual(Array.from(buf2.dataSync()), bufValues);
      buf.dispose();
      tf.dispose([out, rows, buf2, ref]);
      assert.equal(out.isDisposed, true);
    }
  });
}

test('cache write refuses bad input in one line naming the thing and the fix', async () => {
  await useCpu();
  const buf = tf.zeros([1, 2, 8, 4]);
  const rows = tf.ones([1, 2, 3, 4]);
  assert.throws(() => cacheWrite(buf, rows, 6), /rows 6 \.\. 8 are past the buffer's capacity 8; grow the buffer first \(cache-utils\.ts\) or write at most 2 rows at 6/);
  assert.throws(() => cacheWrite(buf, rows, -1), /position -1 must be an integer ≥ 0/);
  assert.throws(() => cacheWrite(buf, tf.ones([1, 1, 3, 4]), 0), /do not fit the buffer \(1,2,8,4\) float32; B, X, W and the dtype must match/);
  assert.throws(() => cacheWrite(buf, tf.ones([1, 2, 3, 4], 'int32'), 0), /dtype must match/);
  assert.throws(() => cacheWrite(tf.zeros([2, 8, 4]), rows, 0), /must be \(B, X, capacity, W\).*reshape both to rank 4/);
  const view = tf.reshape(buf, [2, 8, 4]); // shares the storage
  assert.throws(() => cacheWrite(buf, rows, 0), /shares its storage with 1 other tensor\(s\).*dispose them before writing/);
  view.dispose();
  const out = cacheWrite(buf, rows, 0);
  assert.equal(out.dataId, buf.dataId);
});

test('without the kernel, cacheWrite is the reference and caches append by concat', async () => {
  await useCpu();
  tf.unregisterKernel(CACHE_WRITE_KERNEL, 'cpu');
  try {
    assert.ok(!hasCacheWriteKernel());
    const buf = tf.zeros([1, 1, 4, 2]);
    const out = cacheWrite(buf, tf.ones([1, 1, 1, 2]), 2);
    assert.notEqual(out.dataId, buf.dataId);
    assert.deepEqual(Array.from(out.dataSync()), [0, 0, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(buf.dataSync()), new Array(8).fill(0));
    const model = sharpModel('tiny-mla-rope');
    let state = model.startDecode(1, 'absorbed');
    const r = model.decode(tf.tensor2d([[1, 2, 3]], undefined, 'int32'), state);
    state = r.state;
    assert.equal(state.caches[0].tensors.latent.shape[2], 3, 'no spare rows: appended by concat');
    model.endDecode(state);
    model.dispose();
  } finally {
    registerCpuOpKernels();
  }
});

/** The shader over `result` (the buffer's own storage), as runWebGPUProgram runs it with the buffer as output. */
function runShader(result: Float32Array | Int32Array, rows: ArrayLike<number>, rowsShape: readonly number[], cap: number, start: number): void {
  const u = cacheWriteUniforms(rowsShape, cap, start);
  runWorkgroupShader(CACHE_WRITE_WGSL, {
    inputs: { ROWS: rows },
    result: result as Float32Array,
    uniforms: Object.fromEntries(u.map(([name, , v]) => [name, v])),
    dispatch: cacheWriteDispatch(u[0][2]),
    workgroupSize: [CACHE_WRITE_THREADS, 1, 1],
  });
}

/** The vec4 shader over `result`: both buffers bound as vec4s, as outputComponent 4 binds them. */
function runShader4(result: Float32Array, rows: ArrayLike<number>, rowsShape: readonly number[], cap: number, start: number): void {
  const u = cacheWriteUniforms(rowsShape, cap, start, true);
  const quads = (a: ArrayLike<number>) => Array.from({ length: a.length / 4 }, (_, i) => Array.from({ length: 4 }, (_, c) => a[4 * i + c]));
  const out = quads(result);
  runWorkgroupShader(CACHE_WRITE4_WGSL, {
    inputs: { ROWS: quads(rows) },
    result: out,
    resultType: 'vec4f',
    uniforms: Object.fromEntries(u.map(([name, , v]) => [name, v])),
    dispatch: cacheWriteDispatch(u[0][2], true),
    workgroupSize: [CACHE_WRITE4_THREADS, 1, 1],
  });
  result.set(out.flat());
}

test('WebGPU cache-write vec4 shader (float32, W a multiple of 4): several positions equal a concat, nothing outside the rows changes', () => {
  const writes: [Shape, number, number][] = [[[2, 3, 64, 8], 7, 0], [[2, 3, 64, 8], 1, 33], [[1, 1, 70, 344], 1, 69], [[3, 2, 40, 4], 40, 0], [[1, 1, 2100, 4], 2100, 0]];
  for (const [shape, t, start] of writes) {
    const rowsShape: Shape = [shape[0], shape[1], t, shape[3]];
    assert.ok(cacheWriteVec4(rowsShape, 'float32'));
    const bufValues = values(shape, 1000);
    const rowValues = values(rowsShape, -500);
    const storage = Float32Array.from(bufValues);
    runShader4(storage, rowValues, rowsShape, shape[2], start);
    assert.deepEqual(Array.from(storage), spliced(bufValues, shape, rowValues, t, start), `(${shape}) ${t} rows at ${start}`);
  }
  // The scalar shader where the rows are not whole vec4s, or the buffer holds int32 codes.
  assert.ok(!cacheWriteVec4([1, 1, 1, 341], 'float32'));
  assert.ok(!cacheWriteVec4([1, 1, 1, 8], 'int32'));
  // 1,024 vec4s a workgroup: 2,100 rows of one vec4 need 3 workgroups, the last one partly.
  assert.deepEqual(cacheWriteDispatch(2100, true), [3, 1, 1]);
});

test('WebGPU cache-write shader: several positions equal a concat, and nothing outside the rows changes', () => {
  for (const [shape, t, start] of WRITES) {
    const rowsShape: Shape = [shape[0], shape[1], t, shape[3]];
    const bufValues = values(shape, 1000);
    const rowValues = values(rowsShape, -500);
    for (const Arr of [Float32Array, Int32Array]) {
      const storage = Arr.from(bufValues);
      runShader(storage, Arr.from(rowValues), rowsShape, shape[2], start);
      assert.deepEqual(Array.from(storage), spliced(bufValues, shape, rowValues, t, start), `(${shape}) ${t} rows at ${start}, ${Arr.name}`);
    }
  }
  // More elements than one row of workgroups: the folded dispatch (x, y) still covers each element once.
  assert.deepEqual(cacheWriteDispatch(64 * 40000), [32768, 2, 1]);
});

/** Registers, on 'cpu', the shader's translation writing into the cpu backend's own storage: the WebGPU kernel's logic. */
function registerShaderWrite(): () => void {
  tf.unregisterKernel(CACHE_WRITE_KERNEL, 'cpu');
  tf.registerKernel({
    kernelName: CACHE_WRITE_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { buf, rows } = inputs as { buf: tf.TensorInfo; rows: tf.TensorInfo };
      const cpu = backend as unknown as MathBackendCPU;
      runShader(cpu.data.get(buf.dataId).values as Float32Array, cpu.data.get(rows.dataId).values as Float32Array, rows.shape, buf.shape[2] as number, (attrs as { start: number }).start);
      cpu.incRef(buf.dataId);
      return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
    },
  });
  return () => {
    tf.unregisterKernel(CACHE_WRITE_KERNEL, 'cpu');
    tf.registerKernel(CPU_CACHE_WRITE);
  };
}

test('decoding with the cache-write shader as the writer equals the full forward in every cache mode, across a buffer growth', async () => {
  await useCpu();
  const restore = registerShaderWrite();
  try {
    for (const preset of ['tiny-mla-rope', 'tiny-mha-decoupled-rope', 'tiny-gqa-rope']) {
      const model = sharpModel(preset, { maxSeqLen: 128 });
      const prompt = 61; // the steps cross the 64-row granule: the buffer grows once
      const ids = tokenIds(2, prompt + 6, model.config.vocabSize);
      const full = model.logits(tf.tensor2d(ids, undefined, 'int32'));
      for (const mode of cacheModesFor(model.config) as CacheMode[]) {
        let state = model.startDecode(2, mode);
        const pre = model.decode(tf.tensor2d(ids.map((r) => r.slice(0, prompt)), undefined, 'int32'), state);
        state = pre.state;
        const pieces = [pre.logits];
        for (let t = prompt; t < ids[0].length; t++) {
          const s = model.decode(tf.tensor2d(ids.map((r) => [r[t]]), undefined, 'int32'), state);
          state = s.state;
          pieces.push(s.logits);
        }
        const cached = tf.concat(pieces, 1);
        const diff = maxAbsDiff(cached, full);
        assert.ok(diff <= 1e-4, `${preset} ${mode}: max |cached − full| = ${diff}`);
        assert.equal(Object.values(state.caches[0].tensors)[0].shape[2], 128, `${preset} ${mode}: grown to two granules`);
        model.endDecode(state);
        tf.dispose([cached, ...pieces]);
      }
      full.dispose();
      model.dispose();
    }
  } finally {
    restore();
  }
});
