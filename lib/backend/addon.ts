// Finds and loads the native addon (native/, built by scripts/build-native.js). Loading never throws:
// a missing or broken addon is a reason string, and the CPU backend falls back to tfjs's JS kernels.
import * as fs from 'node:fs';
import * as path from 'node:path';

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
  setThreads(n: number): void;
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
  const file = process.env.MLA_NATIVE_ADDON ?? (root ? path.join(root, ADDON_RELATIVE) : ADDON_RELATIVE);
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
