// The cache write of lib/ops/cache-write.ts on 'webgpu', in place: one shader writes the new rows (B, X, t, W)
// into the cache buffer's own GPU buffer at time rows start .. start + t − 1, one element per thread, and the
// result is that buffer's storage (its refCount raised, as tfjs-backend-webgpu's Reshape does). A tfjs tensor
// cannot be changed through ops, but tfjs-backend-webgpu's runWebGPUProgram takes the output TensorInfo to write
// into (its fifth argument, which its own matmul uses), binding it as the shader's read_write `result`: a shader
// that writes only the new rows leaves every other element of the cache as it was, so a step copies t·W elements
// per (B, X) row instead of the whole cache (tf.concat). That argument is tfjs-backend-webgpu 4.22's internal API:
// the kernel checks at its first call that the backend still has it.
// Shape legend: B batch, X heads of the cached tensor, t rows written, W row width, cap the buffer's rows.
import * as tf from '@tensorflow/tfjs-core';
import { CACHE_WRITE_KERNEL, type CacheWriteAttrs } from '../../../ops/cache-write';
import { FOLDED_WORKGROUP, type Uniforms, foldedDispatch, uniformData, uniformDeclarations } from '../program';

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

/** The uniforms for rows of shape (B, X, t, W) into a buffer of `cap` rows at `start`. */
export function cacheWriteUniforms(rowsShape: readonly number[], cap: number, start: number): Uniforms {
  const [B, X, t, W] = rowsShape;
  return [['n', 'i32', B * X * t * W], ['rowLen', 'i32', t * W], ['capLen', 'i32', cap * W], ['firstLen', 'i32', start * W]];
}

/** Workgroups for n elements (folded past 32,768 per axis). */
export function cacheWriteDispatch(n: number): [number, number, number] {
  return foldedDispatch(Math.max(1, Math.ceil(n / CACHE_WRITE_THREADS)));
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
  const uniforms = cacheWriteUniforms(rows.shape, buf.shape[2] as number, start);
  const program = {
    variableNames: ['ROWS'],
    outputShape: buf.shape,
    shaderKey: 'mlaCacheWrite',
    uniforms: uniformDeclarations(uniforms),
    workgroupSize: [CACHE_WRITE_THREADS, 1, 1],
    dispatchLayout: { x: [2], y: [1], z: [0] }, // not a flat layout: main() places its own element
    dispatch: cacheWriteDispatch(uniforms[0][2]),
    getUserCode: () => CACHE_WRITE_WGSL,
  };
  b.runWebGPUProgram(program, [rows], buf.dtype, uniformData(uniforms), buf);
  // A copy on the host, cached when the buffer was last read, is stale now: the GPU buffer is the only current one.
  b.tensorMap.get(buf.dataId).values = null;
  b.incRef(buf.dataId);
  return { dataId: buf.dataId, shape: buf.shape, dtype: buf.dtype };
}

export function registerCacheWrite(): void {
  if (tf.getKernel(CACHE_WRITE_KERNEL, 'webgpu')) return;
  tf.registerKernel({ kernelName: CACHE_WRITE_KERNEL, backendName: 'webgpu', kernelFunc: cacheWriteKernel as unknown as tf.KernelFunc });
}
