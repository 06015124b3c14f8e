// The cache write of lib/ops/cache-write.ts on 'webgpu', in place: one shader writes the new rows (B, X, t, W)
// into the cache buffer's own GPU buffer at time rows start .. start + t − 1, one element per thread, and the
// result is that buffer's storage (its refCount raised, as tfjs-backend-webgpu's Reshape does). A tfjs tensor
// cannot be changed through ops, but tfjs-backend-webgpu's runWebGPUProgram takes the output TensorInfo to write
// into (its fifth argument, which its own matmul uses), binding it as the shader's read_write `result`: a shader
// that writes only the new rows leaves every other element of the cache as it was, so a step copies t·W elements
// per (B, X) row instead of the whole cache (tf.concat). That argument is tfjs-backend-webgpu 4.22's internal API:
// the kernel checks at its first call that the backend still has it. Where the row width is a multiple of 4 and the
// buffer is float32, the shader moves vec4s, CACHE_WRITE4_PER_THREAD a thread (tfjs's outputComponent 4 binds both
// buffers as array<vec4<f32>>): the copy the decode benchmark's memory floor divides by is this write (on the H200 the
// scalar one-element-a-thread write moved 826 GB/s of a ~4.8 TB/s HBM).
// Shape legend: B batch, X heads of the cached tensor, t rows written, W row width, cap the buffer's rows.
import * as tf from '@tensorflow/tfjs-core';
import { CACHE_WRITE_KERNEL, type CacheWriteAttrs } from '../../../ops/cache-write';
import { FOLDED_WORKGROUP, type Uniforms, foldedDispatch, uniformData, uniformDeclarations } from '../program';
import { type UniformEntry, positionalCall } from '../step-graph';

/** Threads per workgroup: one element of the new rows each. */
export const CACHE_WRITE_THREADS = 64;

/**
 * Element e of ROWS (flat, (B·X) rows of t·W) goes to result[r·cap·W + start·W + (e − r·t·W)], r = ⌊e / (t·W)⌋.
 * result and ROWS share the buffer's type (f32, or i32 for quantized codes), so the copy is exact.
 */
export const CACHE_WRITE_WGSL = `fn fa_div(a : i32, b : i32) -> i32 { return a / b; }
fn main() {
  let e = ${FOLDED_WORKGROUP} * ${CACHE_WRITE_THREADS} + i32(localId.x);
  if (e < uniforms.n) {
    let r = fa_div(e, uniforms.rowLen);
    result[r * uniforms.capLen + uniforms.firstLen + (e - r * uniforms.rowLen)] = ROWS[e];
  }
}`;

/** Threads per workgroup of the vec4 shader, and the vec4s each moves (strided by the workgroup, so coalesced). */
export const CACHE_WRITE4_THREADS = 256;
export const CACHE_WRITE4_PER_THREAD = 4;

/** The vec4 write: the same placement in units of vec4s (every length a multiple of 4 floats). */
export const CACHE_WRITE4_WGSL = `fn fa_div(a : i32, b : i32) -> i32 { return a / b; }
fn main() {
  let first = ${FOLDED_WORKGROUP} * ${CACHE_WRITE4_THREADS * CACHE_WRITE4_PER_THREAD} + i32(localId.x);
  for (var k = 0; k < ${CACHE_WRITE4_PER_THREAD}; k = k + 1) {
    let e = first + k * ${CACHE_WRITE4_THREADS};
    if (e < uniforms.n) {
      let r = fa_div(e, uniforms.rowLen);
      result[r * uniforms.capLen + uniforms.firstLen + (e - r * uniforms.rowLen)] = ROWS[e];
    }
  }
}`;

/** Whether rows (B, X, t, W) of this dtype take the vec4 shader: float32 and W a multiple of 4. */
export function cacheWriteVec4(rowsShape: readonly number[], dtype: string): boolean {
  return dtype === 'float32' && rowsShape[3] % 4 === 0;
}

/**
 * The uniforms for rows of shape (B, X, t, W) into a buffer of `cap` rows at `start`, in elements, or (`vec4`) in
 * vec4s: W / 4 of them a row.
 */
export function cacheWriteUniforms(rowsShape: readonly number[], cap: number, start: number, vec4 = false): Uniforms {
  const [B, X, t, W0] = rowsShape;
  const W = vec4 ? W0 / 4 : W0;
  return [['n', 'i32', B * X * t * W], ['rowLen', 'i32', t * W], ['capLen', 'i32', cap * W], ['firstLen', 'i32', start * W]];
}

/** Workgroups for n elements, or (`vec4`) n vec4s (folded past 32,768 per axis). */
export function cacheWriteDispatch(n: number, vec4 = false): [number, number, number] {
  const perGroup = vec4 ? CACHE_WRITE4_THREADS * CACHE_WRITE4_PER_THREAD : CACHE_WRITE_THREADS;
  return foldedDispatch(Math.max(1, Math.ceil(n / perGroup)));
}

interface WebgpuBackendLike {
  runWebGPUProgram(p: object, inputs: tf.TensorInfo[], dtype: string, uniforms: object[], output?: tf.TensorInfo): tf.TensorInfo;
  tensorMap: { get(id: object): { values: unknown } };
  incRef(id: object): void;
}

function cacheWriteKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { buf, rows } = inputs as { buf: tf.TensorInfo; rows: tf.TensorInfo };
  const { start } = attrs as unknown as CacheWriteAttrs;
  const b = backend as WebgpuBackendLike;
  if (b.runWebGPUProgram.length < 5 || typeof b.incRef !== 'function') {
    throw new Error("cache write: tfjs-backend-webgpu no longer takes an output to write into; set MLA_WEBGPU_FUSED without 'cache'");
  }
  const vec4 = cacheWriteVec4(rows.shape, buf.dtype);
  const uniforms = cacheWriteUniforms(rows.shape, buf.shape[2] as number, start, vec4);
  const dispatch = cacheWriteDispatch(uniforms[0][2], vec4);
  const program = {
    variableNames: ['ROWS'],
    outputShape: buf.shape,
    shaderKey: vec4 ? 'mlaCacheWrite4' : 'mlaCacheWrite',
    uniforms: uniformDeclarations(uniforms),
    workgroupSize: [vec4 ? CACHE_WRITE4_THREADS : CACHE_WRITE_THREADS, 1, 1],
    dispatchLayout: { x: [2], y: [1], z: [0] }, // not a flat layout: main() places its own element
    dispatch,
    // result and ROWS as array<vec4<f32>> (W a multiple of 4: every buffer's length is too).
    ...(vec4 ? { outputComponent: 4, variableComponents: [4] } : {}),
    getUserCode: () => (vec4 ? CACHE_WRITE4_WGSL : CACHE_WRITE_WGSL),
  };
  // The rows go to the position: a step graph recomputes the uniforms for later ones.
  // The key read now: runWebGPUProgram rewrites program.shaderKey to its full key.
  const key = program.shaderKey;
  const at = (shift: number) => [{ key, dispatch, uniforms: uniformData(cacheWriteUniforms(rows.shape, buf.shape[2] as number, start + shift, vec4)) as UniformEntry[] }];
  positionalCall(at, () => b.runWebGPUProgram(program, [rows], buf.dtype, uniformData(uniforms), buf));
  // A copy on the host, cached when the buffer was last read, is stale now: the GPU buffer is the only current one.
  b.tensorMap.get(buf.dataId).values = null;
  b.incRef(buf.dataId);
  return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
}

export function registerCacheWrite(): void {
  if (tf.getKernel(CACHE_WRITE_KERNEL, 'webgpu')) return;
  tf.registerKernel({ kernelName: CACHE_WRITE_KERNEL, backendName: 'webgpu', kernelFunc: cacheWriteKernel as unknown as tf.KernelFunc });
}
