// The dropout-mask shader (lib/backend/webgpu/kernels/dropout-mask.ts) run through the typed WGSL translator
// (u32 arithmetic wrapped as on the GPU): it must give lib/ops/dropout.ts's host mask (the CPU path) bit for
// bit, so masks and dropout training runs agree across backends, and through it the same rate and determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskAttrs, maskValues } from '../../../lib/ops/dropout';
import { DROPOUT_MASK_WGSL } from '../../../lib/backend/webgpu/kernels/dropout-mask';
import { runFlatWgsl } from '../../helpers/wgsl-js';

/** Uniform types as lib/backend/webgpu/kernels/dropout-mask.ts's runFlat call declares them. */
const TYPES = { key: 'u32', threshold: 'u32', scale: 'f32' } as const;

/** The shader's mask for (shape, rate, seed, stream), as the kernel's uniforms pass them. */
function shaderMask(shape: number[], rate: number, seed: number, stream: number): Float32Array {
  const a = maskAttrs(shape, rate, seed, stream);
  const n = shape.reduce((p, d) => p * d, 1);
  return runFlatWgsl(DROPOUT_MASK_WGSL, {}, { key: a.key, threshold: a.threshold, scale: a.scale }, n, [], TYPES);
}

test('DROPOUT_MASK_WGSL, run through the typed WGSL translator, gives the host mask bit for bit', () => {
  const cases: [number[], number, number, number][] = [
    [[4, 33, 17], 0.1, 42, 0],
    [[1000, 7], 0.5, 2 ** 40 + 5, 3], // a seed above 2^32
    [[257], 0.999, 7, 11],
    [[64], 0, 1, 2], // rate 0: every element kept, at scale 1
  ];
  for (const [shape, rate, seed, stream] of cases) {
    assert.deepEqual(shaderMask(shape, rate, seed, stream), maskValues(maskAttrs(shape, rate, seed, stream)), `shape ${shape}, rate ${rate}, seed ${seed}, stream ${stream}`);
  }
  // u32(index) + key wraps past 2^32 for a key near the top: the translation must wrap as the GPU does.
  const wrap = { shape: [300], threshold: Math.round(0.3 * 2 ** 24), scale: Math.fround(1 / 0.7), key: 0xffffff80 };
  const u = { key: wrap.key, threshold: wrap.threshold, scale: wrap.scale };
  assert.deepEqual(runFlatWgsl(DROPOUT_MASK_WGSL, {}, u, 300, [], TYPES), maskValues(wrap));
  // And the comparison can fail: a shader that keeps on the top 23 bits instead of 24 gives another mask.
  const mutant = DROPOUT_MASK_WGSL.replace('(h >> 8u)', '(h >> 9u)');
  assert.notDeepEqual(runFlatWgsl(mutant, {}, u, 300, [], TYPES), maskValues(wrap));
});

test('through the shader: the requested rate, the same mask for a (seed, stream), another for another seed', () => {
  for (const rate of [0.1, 0.5]) {
    const n = 100_000;
    const m = shaderMask([n], rate, 3, 1);
    let dropped = 0;
    for (const v of m) {
      if (v === 0) dropped++;
      else assert.equal(v, Math.fround(1 / (1 - rate)));
    }
    const sd = Math.sqrt((rate * (1 - rate)) / n);
    assert.ok(Math.abs(dropped / n - rate) < 5 * sd, `rate ${rate}: dropped ${dropped / n}`);
  }
  assert.deepEqual(shaderMask([50, 40], 0.1, 9, 2), shaderMask([50, 40], 0.1, 9, 2));
  const a = shaderMask([2000], 0.5, 9, 2);
  const b = shaderMask([2000], 0.5, 10, 2);
  let same = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (b[i] === 0)) same++;
  assert.ok(same / a.length < 0.6, `independent masks at rate 0.5 agree on about half the elements, got ${same / a.length}`);
});
