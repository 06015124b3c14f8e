// A decode step's projection as one op: y = act(LN?(x[:, offset .. offset + K)) · [W_0 | W_1 | W_2] + bias) + residual.
// Batch-1 decoding on WebGPU is bound by host time per dispatch (~75 µs on the H200), and a block's projections
// were each several: LayerNorm, one matmul per weight (q, k, v), tfjs's split-K for 4C → C (a fill, the product and
// a bias pass), the residual add. A backend's kernel (lib/backend/webgpu/kernels/decode-linear.ts) does all of it in
// one dispatch for the few rows a decode step has; the reference is the same math with tfjs ops (LayerNorm, one
// matmul per weight, concat, bias, relu, add), which every backend without the kernel runs. No gradient: decoding
// only (under a tape the model keeps its ops).
// Several weights share the input row and their outputs sit side by side, [x·W_0 | x·W_1 | …], so Q, K and V (or
// MLA's two down-projections) come out of one dispatch as one row that the step's later kernels read by column.
// Shape legend: M rows (batch · new tokens), X input row width, K = the weights' rows, N = Σ N_i output columns.
import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './has-kernel';
import { layerNorm } from './layer-norm';
import { hasDecodeHeadsKernel } from './decode-heads';
import { hasCacheWriteFromKernel, hasCacheWriteKernel } from './cache-write';

/**
 * Inputs x (…, X), w0 (K, N0) [, w1, w2], [gamma, beta (K,)], [bias (N,)], [residual (…, N)]; attrs
 * DecodeLinearAttrs; output (1, 1, M·N).
 */
export const DECODE_LINEAR_KERNEL = 'MlaDecodeLinear';
/**
 * Rows the kernel takes by default: it keeps 4 rows' sums per thread and re-reads the weights every 4 rows, so past
 * some batch a tiled matmul reads them less. A backend may set its own (setDecodeLinearMaxRows; on WebGPU
 * MLA_WEBGPU_DECODE_STEP_ROWS), which is also the most rows a step takes the fused step path for.
 */
export const DECODE_LINEAR_MAX_ROWS = 16;
/** The most rows a backend's kernel may be set to take. */
export const DECODE_LINEAR_ROWS_LIMIT = 256;
const maxRowsByBackend = new Map<string, number>();

/** The rows the kernel takes on `backend` (the active one by default). */
export function decodeLinearMaxRows(backend = tf.getBackend()): number {
  return maxRowsByBackend.get(backend) ?? DECODE_LINEAR_MAX_ROWS;
}

/** Sets the rows the kernel takes on `backend` (1 .. DECODE_LINEAR_ROWS_LIMIT); null restores the default. */
export function setDecodeLinearMaxRows(backend: string, rows: number | null): void {
  if (rows === null) {
    maxRowsByBackend.delete(backend);
    return;
  }
  if (!Number.isInteger(rows) || rows < 1 || rows > DECODE_LINEAR_ROWS_LIMIT) throw new RangeError(`decode linear: max rows ${rows} must be a whole number 1..${DECODE_LINEAR_ROWS_LIMIT}`);
  maxRowsByBackend.set(backend, rows);
}
/** Weights one call takes. */
export const DECODE_LINEAR_MAX_WEIGHTS = 3;

export interface DecodeLinearAttrs {
  /** Column of x where the K inputs start. */
  offset: number;
  weights: number;
  /** 1: LayerNorm the K inputs first (gamma, beta present). */
  norm: number;
  eps: number;
  bias: number;
  relu: number;
  residual: number;
}

export interface DecodeLinearOptions {
  /** Column of x's last axis where the weights' K inputs start (default 0; x may be wider than K). */
  offset?: number;
  /** LayerNorm (PyTorch's eps) of those K columns before the product. */
  norm?: { gamma: tf.Tensor1D; beta: tf.Tensor1D; eps?: number };
  bias?: tf.Tensor1D;
  relu?: boolean;
  /** Added last, (…, N) like the output. */
  residual?: tf.Tensor;
}

/** Whether the active backend has the kernel and it takes `rows` rows. */
export function hasDecodeLinearKernel(rows = 1): boolean {
  return rows <= decodeLinearMaxRows() && hasKernel(DECODE_LINEAR_KERNEL);
}

/** Shapes, as one line naming the thing and the fix. */
export function checkDecodeLinear(x: tf.Tensor, ws: tf.Tensor2D[], o: DecodeLinearOptions): void {
  const what = 'decode linear';
  if (ws.length < 1 || ws.length > DECODE_LINEAR_MAX_WEIGHTS) throw new Error(`${what}: ${ws.length} weights; 1 to ${DECODE_LINEAR_MAX_WEIGHTS}`);
  const K = ws[0].shape[0];
  if (ws.some((w) => w.rank !== 2 || w.shape[0] !== K)) throw new Error(`${what}: weights (${ws.map((w) => `(${w.shape})`).join(', ')}) must be 2-D with the same rows`);
  const X = x.shape[x.shape.length - 1];
  const offset = o.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset + K > X) throw new RangeError(`${what}: columns ${offset} .. ${offset + K - 1} are past x's ${X}; the weights read K = ${K} columns`);
  if (o.norm && (o.norm.gamma.size !== K || o.norm.beta.size !== K)) throw new Error(`${what}: LayerNorm weights of ${o.norm.gamma.size}/${o.norm.beta.size} for ${K} columns`);
  const N = ws.reduce((s, w) => s + w.shape[1], 0);
  if (o.bias && o.bias.size !== N) throw new Error(`${what}: a bias of ${o.bias.size} for ${N} output columns`);
  if (o.residual && (o.residual.size !== (x.size / X) * N || o.residual.shape[o.residual.rank - 1] !== N)) {
    throw new Error(`${what}: the residual (${o.residual.shape}) is not (…, ${N}) with x's rows (${x.shape})`);
  }
}

/** y (…, N) by the backend's kernel where it takes the call, else by the reference. */
export function decodeLinear(x: tf.Tensor, ws: tf.Tensor2D[], o: DecodeLinearOptions = {}): tf.Tensor {
  checkDecodeLinear(x, ws, o);
  const X = x.shape[x.shape.length - 1];
  const M = x.size / X;
  if (!hasDecodeLinearKernel(M)) return decodeLinearReference(x, ws, o);
  const N = ws.reduce((s, w) => s + w.shape[1], 0);
  const inputs: Record<string, tf.Tensor> = { x };
  ws.forEach((w, i) => (inputs[`w${i}`] = w));
  if (o.norm) Object.assign(inputs, { gamma: o.norm.gamma, beta: o.norm.beta });
  if (o.bias) inputs.bias = o.bias;
  if (o.residual) inputs.residual = o.residual;
  const attrs: DecodeLinearAttrs = {
    offset: o.offset ?? 0, weights: ws.length, norm: o.norm ? 1 : 0, eps: o.norm?.eps ?? 1e-5, bias: o.bias ? 1 : 0, relu: o.relu ? 1 : 0, residual: o.residual ? 1 : 0,
  };
  return tf.tidy(() => {
    const flat = tf.engine().runKernel(DECODE_LINEAR_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor; // (1, 1, M·N)
    return tf.reshape(flat, [...x.shape.slice(0, -1), N]); // (…, N)
  });
}

/** decodeLinear with tfjs ops: a single weight's bias and relu go through tf.fused.matMul, as linear() does outside a tape. */
export function decodeLinearReference(x: tf.Tensor, ws: tf.Tensor2D[], o: DecodeLinearOptions = {}): tf.Tensor {
  checkDecodeLinear(x, ws, o);
  return tf.tidy(() => {
    const X = x.shape[x.shape.length - 1];
    const K = ws[0].shape[0];
    const offset = o.offset ?? 0;
    let x2 = tf.reshape(x, [-1, X]) as tf.Tensor2D; // (M, X)
    if (offset !== 0 || K !== X) x2 = tf.slice(x2, [0, offset], [-1, K]); // (M, K)
    if (o.norm) x2 = layerNorm(x2, o.norm.gamma, o.norm.beta, o.norm.eps ?? 1e-5) as tf.Tensor2D;
    let y: tf.Tensor2D; // (M, N)
    if (ws.length === 1 && (o.bias || o.relu)) {
      y = tf.fused.matMul({ a: x2, b: ws[0], bias: o.bias, activation: o.relu ? 'relu' : 'linear' }) as tf.Tensor2D;
    } else {
      const parts = ws.map((w) => tf.matMul(x2, w) as tf.Tensor2D);
      y = parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D);
      if (o.bias) y = tf.add(y, o.bias) as tf.Tensor2D;
      if (o.relu) y = tf.relu(y) as tf.Tensor2D;
    }
    const N = y.shape[1];
    const out = tf.reshape(y, [...x.shape.slice(0, -1), N]); // (…, N)
    return o.residual ? tf.add(o.residual, out) : out;
  });
}

/**
 * Whether a decode step of `rows` rows (batch · new tokens) takes the fused step path: the decode linear, the head
 * gathers and the cache written in place from projection rows, all on the backend's kernels, outside a gradient tape.
 * Elsewhere (the CPU backends, long prefills, training) the attention layers and the model run their tfjs ops.
 */
export function hasDecodeStepKernels(rows: number): boolean {
  return tf.engine().state.gradientDepth === 0 && hasDecodeLinearKernel(rows) && hasDecodeHeadsKernel() && hasCacheWriteFromKernel() && hasCacheWriteKernel();
}
