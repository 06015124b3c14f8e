// Finds and loads the native addon (native/, built by scripts/build-native.js). Loading never throws:
// a missing or broken addon is a reason string, and the CPU backend falls back to tfjs's JS kernels.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendSettings } from '../../settings';

export interface AddonInfo {
  /** e.g. "OpenBLAS 0.3.21 ... (core Haswell)" or "Accelerate". */
  blas: string;
  /** Threads BLAS uses (0 when the BLAS manages its own, as Accelerate does). */
  blasThreads: number;
  /** Threads of the addon's own pool (element-wise, softmax, reductions), the caller included. */
  poolThreads: number;
  hardwareThreads: number;
}

/** The functions the addon exports. Shapes are row-major; every array is read or written in place. */
export interface NativeAddon {
  info(): AddonInfo;
  /** Threads for BLAS and for the addon's own pool (pool defaults to the BLAS count). */
  setThreads(blas: number, pool?: number): void;
  /** glibc: serve large blocks from the heap and keep up to `bytes` freed for reuse; false elsewhere. */
  keepFreedMemory(bytes: number): boolean;
  /** c (m, n) = op(a) · op(b), a (m, k) or (k, m) when transA, b (k, n) or (n, k) when transB. */
  sgemm(transA: boolean, transB: boolean, m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array): void;
  /**
   * out (broadcast batch..., m, n) = act(op(a) · op(b) + bias). aBatch and bBatch have equal length.
   * biasKind: 0 none, 1 scalar, 2 one value per output column. activation: see ACTIVATION_CODES.
   */
  batchMatMul(
    a: Float32Array, b: Float32Array, out: Float32Array, aBatch: Int32Array, bBatch: Int32Array,
    m: number, n: number, k: number, transA: boolean, transB: boolean,
    bias: Float32Array | null, biasKind: number, activation: number, alpha: number,
  ): void;
  /** out (numSegments, inner) = Σ rows of x (n, inner) by segment id; ids outside the range are skipped. */
  unsortedSegmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, n: number, inner: number, numSegments: number): void;
  /** out (outer, n, inner) = x (outer, rows, inner) at rows ids; false if an id is out of range. */
  gatherRows(x: Float32Array, ids: Int32Array, out: Float32Array, outer: number, rows: number, inner: number, n: number): boolean;
  /** out[i] = f(x[i]) for the op code (UNARY_CODES); alpha is Step's value at x ≤ 0. */
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  /** out (broadcast shape) = a ∘ b for the op code (BINARY_CODES). */
  binary(op: number, a: Float32Array, aShape: Int32Array, b: Float32Array, bShape: Int32Array, out: Float32Array): void;
  /** out (outer, inner) = reduction of x (outer, r, inner) over r for the op code (REDUCE_CODES). */
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, r: number, inner: number): void;
  /** Softmax of each row of x (rows, n). */
  softmax(x: Float32Array, out: Float32Array, rows: number, n: number): void;
  /** out = x (shape) with its dims permuted by perm. */
  transpose(x: Float32Array, shape: Int32Array, perm: Int32Array, out: Float32Array): void;
  /** Copies the box `block` at srcBegin of src (srcShape) to dstBegin of dst (dstShape). */
  copyBlock(
    src: Float32Array, srcShape: Int32Array, srcBegin: Int32Array,
    dst: Float32Array, dstShape: Int32Array, dstBegin: Int32Array, block: Int32Array,
  ): void;
}

export interface AddonLoad {
  addon: NativeAddon | null;
  /** Why the addon is not available (null when it loaded). */
  reason: string | null;
  /** Where it was looked for. */
  path: string;
}

const ADDON_RELATIVE = path.join('native', 'build', 'Release', 'mla_native.node');

/** The repository root: the nearest folder above this file holding native/binding.gyp (works from lib/ and dist/lib/). */
function packageRoot(): string | null {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

let cached: AddonLoad | undefined;

/** Loads the addon once. MLA_NATIVE_ADDON names another .node file (a debug build, say). */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  const root = packageRoot();
  const file = backendSettings().cpu.addonPath ?? (root ? path.join(root, ADDON_RELATIVE) : ADDON_RELATIVE);
  if (!fs.existsSync(file)) {
    cached = { addon: null, reason: `${file} not built`, path: file };
    return cached;
  }
  try {
    cached = { addon: require(file) as NativeAddon, reason: null, path: file };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    cached = { addon: null, reason: `loading ${file} failed: ${msg}`, path: file };
  }
  return cached;
}
