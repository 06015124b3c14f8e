// The column gathers of a decode step on 'webgpu', each one dispatch: decodeHeads (lib/ops/decode-heads.ts), a row's
// per-head segments into (B, H, t, w) with their tails rotated, and cacheWriteFrom (lib/ops/cache-write.ts), the same
// gather written in place into a cache buffer, optionally LayerNormed first (MLA's latent). The in-place write binds
// the buffer as the program's output, as cache-write.ts does (tfjs-backend-webgpu 4.22's fifth runWebGPUProgram
// argument), so only the new rows change.
// Rotation as lib/ops/rope.ts (rotate-half): y_j = x_j·cos_j + x̃_j·sin_j with x̃ = [−x2, x1] over the rotated tail.
// Scalar code, tested on the CPU through the WGSL translator (test/backend/webgpu/decode-step.test.ts).
// Shape legend: B batch, t new tokens, H/X heads, w segment width, W cache row width, cap the buffer's rows.
import * as tf from '@tensorflow/tfjs-core';
import { CACHE_WRITE_FROM_KERNEL, type CacheWriteFromAttrs } from '../../../ops/cache-write';
import { DECODE_HEADS_KERNEL, type DecodeHeadsAttrs } from '../../../ops/decode-heads';
import { FOLDED_WORKGROUP, type Uniforms, type WorkgroupKernel, type WorkgroupProgram, foldedDispatch, registerWorkgroupKernels, uniformData, uniformDeclarations } from '../program';
import { type UniformEntry, positionalCall } from '../step-graph';

export const HEADS_THREADS = 64;

/**
 * WGSL statements that set `v` to column j of a segment whose head starts at `base` of buffer `buf`: rotated when
 * j is in the tail (uniform names `${u}w`, `${u}rot`; row position `pos`), else read as is.
 */
function segmentRead(buf: string, u: string, rotated: boolean, j: string): string[] {
  if (!rotated) return [`v = ${buf}[base + ${j}];`];
  return [
    `let jj = ${j} - (uniforms.${u}w - uniforms.${u}rot);`,
    'if (jj >= 0) {',
    `  let half = uniforms.${u}rot / 2;`,
    '  var partner = 0.0;',
    `  if (jj < half) { partner = -${buf}[base + ${j} + half]; } else { partner = ${buf}[base + ${j} - half]; }`,
    `  let tab = pos * uniforms.${u}rot + jj;`,
    `  v = ${buf}[base + ${j}] * COS[tab] + partner * SIN[tab];`,
    `} else { v = ${buf}[base + ${j}]; }`,
  ];
}

/** decodeHeads: one output element per thread, (B, H, t, w) flat from X (B, t, rowWidth). */
export function decodeHeadsWgsl(rotated: boolean): string {
  return [
    'fn main() {',
    `  let e = ${FOLDED_WORKGROUP} * ${HEADS_THREADS} + i32(localId.x);`,
    '  if (e < uniforms.n) {',
    '    let j = e % uniforms.w;',
    '    let r = e / uniforms.w;',
    '    let i = r % uniforms.t;',
    '    let r2 = r / uniforms.t;',
    '    let h = r2 % uniforms.heads;',
    '    let b = r2 / uniforms.heads;',
    '    let pos = uniforms.start + i;',
    '    let base = (b * uniforms.t + i) * uniforms.rowWidth + uniforms.offset + h * uniforms.stride;',
    '    var v = 0.0;',
    ...segmentRead('X', '', rotated, 'j').map((l) => `    ${l}`),
    '    result[e] = v;',
    '  }',
    '}',
  ].join('\n');
}

export function decodeHeadsProgram(inputs: tf.TensorInfo[], attrs: Record<string, number>): WorkgroupProgram {
  const a = attrs as unknown as DecodeHeadsAttrs;
  const [B, t, rowWidth] = inputs[0].shape;
  const n = B * a.heads * t * a.width;
  const rotated = a.rotary > 0;
  return {
    key: `mlaDecodeHeads_${rotated ? 'r' : ''}`,
    wgsl: () => decodeHeadsWgsl(rotated),
    names: rotated ? ['X', 'COS', 'SIN'] : ['X'],
    size: n,
    dispatch: foldedDispatch(Math.max(1, Math.ceil(n / HEADS_THREADS))),
    workgroupSize: [HEADS_THREADS, 1, 1],
    uniforms: [
      ['n', 'i32', n], ['w', 'i32', a.width], ['rot', 'i32', a.rotary], ['t', 'i32', t], ['heads', 'i32', a.heads], ['start', 'i32', rotated ? a.start : 0],
      ['rowWidth', 'i32', rowWidth], ['offset', 'i32', a.offset], ['stride', 'i32', a.stride],
    ],
  };
}

export const DECODE_HEADS_KERNELS: WorkgroupKernel[] = [
  // Only a rotation reads the position (an unrotated gather's uniforms carry start 0).
  { kernelName: DECODE_HEADS_KERNEL, inputs: ['x', 'cos', 'sin'], program: decodeHeadsProgram, positional: (a) => (a.rotary > 0 ? ['start'] : []) },
];

/** What a cache write from rows' shader is specialised on. */
export interface CacheWriteFromPlan {
  segments: 1 | 2;
  rotated: [boolean, boolean];
  norm: boolean;
}

export function cacheWriteFromPlan(a: CacheWriteFromAttrs): CacheWriteFromPlan {
  return { segments: a.segments === 2 ? 2 : 1, rotated: [a.rotary0 > 0, a.rotary1 > 0], norm: a.norm === 1 };
}

/** Tree sum of red[0 .. 64) into red[0]. */
const treeSum = () => [32, 16, 8, 4, 2, 1].flatMap((s) => ['  workgroupBarrier();', `  if (tid < ${s}) { red[tid] = red[tid] + red[tid + ${s}]; }`]).concat('  workgroupBarrier();');

/**
 * One workgroup per new row (b, i): its X·W elements written to result (the buffer) at time row start + i. Segment s
 * reads SRC{s} (B·t rows of rowWidth{s}); with norm segment 0 is LayerNormed over its width (X = 1).
 */
export function cacheWriteFromWgsl(p: CacheWriteFromPlan): string {
  const L: string[] = [];
  if (p.norm) L.push(`var<workgroup> red : array<f32, ${HEADS_THREADS}>;`);
  L.push('fn main() {');
  L.push('  let tid = i32(localId.x);');
  L.push(`  let row = ${FOLDED_WORKGROUP};`);
  L.push('  let rr = min(row, uniforms.rows - 1);');
  L.push('  let b = rr / uniforms.t;');
  L.push('  let i = rr - b * uniforms.t;');
  L.push('  let pos = uniforms.start + i;');
  if (p.norm) {
    L.push('  let nbase = rr * uniforms.rowWidth0 + uniforms.offset0;');
    L.push('  var sum = 0.0;');
    L.push(`  for (var c = tid; c < uniforms.s0w; c = c + ${HEADS_THREADS}) { sum = sum + SRC0[nbase + c]; }`);
    L.push('  red[tid] = sum;');
    L.push(...treeSum());
    L.push('  let mean = red[0] / f32(uniforms.s0w);');
    L.push('  workgroupBarrier(); // every thread has read red[0] before it is overwritten');
    L.push('  var dev = 0.0;');
    L.push(`  for (var c = tid; c < uniforms.s0w; c = c + ${HEADS_THREADS}) { let d = SRC0[nbase + c] - mean; dev = dev + d * d; }`);
    L.push('  red[tid] = dev;');
    L.push(...treeSum());
    L.push('  let rstd = inverseSqrt(red[0] / f32(uniforms.s0w) + uniforms.eps);');
  }
  L.push('  if (row < uniforms.rows) {');
  L.push(`    for (var e = tid; e < uniforms.heads * uniforms.W; e = e + ${HEADS_THREADS}) {`);
  L.push('      let x = e / uniforms.W;');
  L.push('      let j = e - x * uniforms.W;');
  L.push('      var v = 0.0;');
  const segment = (s: 0 | 1, j: string) => [
    `let base = rr * uniforms.rowWidth${s} + uniforms.offset${s} + x * uniforms.stride${s};`,
    ...segmentRead(`SRC${s}`, `s${s}`, p.rotated[s], j),
    ...(s === 0 && p.norm ? [`v = (v - mean) * rstd * G[${j}] + BETA[${j}];`] : []),
  ];
  if (p.segments === 1) {
    L.push(...segment(0, 'j').map((l) => `      ${l}`));
  } else {
    L.push('      if (j < uniforms.s0w) {');
    L.push(...segment(0, 'j').map((l) => `        ${l}`));
    L.push('      } else {');
    L.push('        let j1 = j - uniforms.s0w;');
    L.push(...segment(1, 'j1').map((l) => `        ${l}`));
    L.push('      }');
  }
  L.push('      result[((b * uniforms.heads + x) * uniforms.cap + pos) * uniforms.W + j] = v;');
  L.push('    }');
  L.push('  }');
  L.push('}');
  return L.join('\n');
}

/** Source names of a plan, in the op's input order after buf. */
export function cacheWriteFromNames(p: CacheWriteFromPlan): string[] {
  return ['SRC0', ...(p.segments === 2 ? ['SRC1'] : []), ...(p.rotated.some((r) => r) ? ['COS', 'SIN'] : []), ...(p.norm ? ['G', 'BETA'] : [])];
}

/** The uniforms for a buffer (B, X, cap, W) and sources (B, t, rowWidth_s). */
export function cacheWriteFromUniforms(bufShape: readonly number[], srcShapes: (readonly number[])[], a: CacheWriteFromAttrs): Uniforms {
  const [, X, cap, W] = bufShape;
  const [B, t] = srcShapes[0];
  return [
    ['rows', 'i32', B * t], ['t', 'i32', t], ['start', 'i32', a.start], ['heads', 'i32', X], ['W', 'i32', W], ['cap', 'i32', cap],
    ['rowWidth0', 'i32', srcShapes[0][2]], ['offset0', 'i32', a.offset0], ['stride0', 'i32', a.stride0], ['s0w', 'i32', a.width0], ['s0rot', 'i32', a.rotary0],
    ['rowWidth1', 'i32', srcShapes[1]?.[2] ?? 0], ['offset1', 'i32', a.offset1], ['stride1', 'i32', a.stride1], ['s1w', 'i32', a.width1], ['s1rot', 'i32', a.rotary1],
    ['eps', 'f32', a.eps],
  ];
}

export function cacheWriteFromDispatch(rows: number): [number, number, number] {
  return foldedDispatch(Math.max(1, rows));
}

interface WebgpuBackendLike {
  runWebGPUProgram(p: object, inputs: tf.TensorInfo[], dtype: string, uniforms: object[], output?: tf.TensorInfo): tf.TensorInfo;
  tensorMap: { get(id: object): { values: unknown } };
  incRef(id: object): void;
}

function cacheWriteFromKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const a = attrs as unknown as CacheWriteFromAttrs;
  const ins = inputs as Record<string, tf.TensorInfo | undefined>;
  const buf = ins.buf!;
  const p = cacheWriteFromPlan(a);
  const sources = ['src0', 'src1', 'cos', 'sin', 'gamma', 'beta'].map((n) => ins[n]).filter((x): x is tf.TensorInfo => x !== undefined);
  const names = cacheWriteFromNames(p);
  if (names.length !== sources.length) throw new Error(`cache write from rows: ${sources.length} inputs for the shader's ${names.join(', ')}`);
  const b = backend as WebgpuBackendLike;
  if (b.runWebGPUProgram.length < 5 || typeof b.incRef !== 'function') {
    throw new Error("cache write from rows: tfjs-backend-webgpu no longer takes an output to write into; set MLA_WEBGPU_FUSED without 'step'");
  }
  const srcShapes = [ins.src0!.shape, ...(ins.src1 ? [ins.src1.shape] : [])];
  const uniforms = cacheWriteFromUniforms(buf.shape, srcShapes, a);
  const key = `mlaCacheWriteFrom_${p.segments}${p.rotated.map((r) => (r ? 'r' : '_')).join('')}${p.norm ? 'n' : ''}`;
  const dispatch = cacheWriteFromDispatch(uniforms[0][2]);
  const program = {
    variableNames: names,
    outputShape: buf.shape,
    shaderKey: key,
    uniforms: uniformDeclarations(uniforms),
    workgroupSize: [HEADS_THREADS, 1, 1],
    dispatchLayout: { x: [2], y: [1], z: [0] }, // not a flat layout: main() places its own elements
    dispatch,
    getUserCode: () => cacheWriteFromWgsl(p),
  };
  // The rows go to the position: a step graph recomputes the uniforms for later ones.
  const at = (shift: number) => [{ key, dispatch, uniforms: uniformData(cacheWriteFromUniforms(buf.shape, srcShapes, { ...a, start: a.start + shift })) as UniformEntry[] }];
  positionalCall(at, () => b.runWebGPUProgram(program, sources, buf.dtype, uniformData(uniforms), buf));
  // A copy on the host, cached when the buffer was last read, is stale now.
  b.tensorMap.get(buf.dataId).values = null;
  b.incRef(buf.dataId);
  return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
}

export function registerDecodeHeads(): void {
  registerWorkgroupKernels(DECODE_HEADS_KERNELS);
  if (!tf.getKernel(CACHE_WRITE_FROM_KERNEL, 'webgpu')) {
    tf.registerKernel({ kernelName: CACHE_WRITE_FROM_KERNEL, backendName: 'webgpu', kernelFunc: cacheWriteFromKernel as unknown as tf.KernelFunc });
  }
}
