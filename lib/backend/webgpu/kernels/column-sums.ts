// Sum over leading axes on WebGPU — (…rows, cols) → (cols) — as column sums read in place. Every bias
// gradient is one (the sum of dy (B·T, N) over its rows: 56 per 35M MLA step), and tfjs-backend-webgpu
// reduces only over innermost axes, so it transposed each dy first (a full copy) and then reduced rows of
// 8,192 with one workgroup per output. On the H200 the Sum kernels of a 35M MLA step took 5.1 ms of GPU time
// that way and 3.3 ms this way (data/bench/device/session-4/run1-pipelined, run2-device-clip profiles);
// end to end that is within the noise (73.3k against 72.5k/72.7k tokens/s without it).
// Here, pass 1: workgroup (g, c) of 64 × 4 threads sums rows of chunk c for columns 64·g .. 64·g + 63, each
// column by 4 threads (every 4th row), coalesced across a row, then the 4 partials through workgroup memory;
// pass 2 sums the chunks' partials per column. Other reductions stay with tfjs's Sum.
// Scalar code only: test/backend/webgpu/column-sums.test.ts runs both passes translated to JavaScript.
import * as tf from '@tensorflow/tfjs-core';
import { type ProgramRunner, runFlat, runWorkgroupProgram } from '../program';

const COLUMNS = 64; // columns per workgroup (threads along x)
const LANES = 4; // threads per column (y)
/** Chunks of rows: enough workgroups to fill the GPU, few enough partials for pass 2's sequential sum. */
const MAX_CHUNKS = 32;
const MIN_ROWS_PER_CHUNK = 256;

export interface ColumnSumPlan {
  rows: number;
  cols: number;
  chunks: number;
  rowsPerChunk: number;
}

export function columnSumPlan(rows: number, cols: number): ColumnSumPlan {
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.floor(rows / MIN_ROWS_PER_CHUNK)));
  return { rows, cols, chunks, rowsPerChunk: Math.ceil(rows / chunks) };
}

/** Pass 1: X (rows, cols) → partial (chunks, cols). */
export const COLUMN_PARTIALS_WGSL = `var<workgroup> red : array<f32, ${COLUMNS * LANES}>;
fn main() {
  let lx = i32(localId.x);
  let ly = i32(localId.y);
  let col = i32(workgroupId.x) * ${COLUMNS} + lx;
  let chunk = i32(workgroupId.y);
  let first = chunk * uniforms.rowsPerChunk;
  let last = min(uniforms.rows, first + uniforms.rowsPerChunk);
  var acc = 0.0;
  if (col < uniforms.cols) {
    for (var r = first + ly; r < last; r = r + ${LANES}) {
      acc = acc + X[r * uniforms.cols + col];
    }
  }
  red[ly * ${COLUMNS} + lx] = acc;
  workgroupBarrier();
  if (ly == 0 && col < uniforms.cols) {
    result[chunk * uniforms.cols + col] = red[lx] + red[${COLUMNS} + lx] + red[${2 * COLUMNS} + lx] + red[${3 * COLUMNS} + lx];
  }
}`;

/** Pass 2: partial (chunks, cols) → (cols). */
export const COLUMN_TOTALS_WGSL = `
  fn main(index : i32) {
    if (index < uniforms.size) {
      var acc = 0.0;
      for (var c = 0; c < uniforms.chunks; c = c + 1) {
        acc = acc + P[c * uniforms.size + index];
      }
      setOutputAtIndex(index, acc);
    }
  }
`;

/** The number of leading axes `axes` covers when it is exactly 0 .. k − 1 with k < rank, else 0. */
export function leadingAxes(axes: number[], rank: number): number {
  const sorted = [...axes].sort((a, b) => a - b);
  const k = sorted.length;
  if (k === 0 || k >= rank || sorted.some((a, i) => a !== i)) return 0;
  return k;
}

/** Column sums of x viewed as (rows, cols): two dispatches, → (cols) as a flat TensorInfo. */
export function columnSums(backend: unknown, x: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo {
  const p = columnSumPlan(rows, cols);
  const partial = runWorkgroupProgram(
    backend,
    {
      key: 'mlaColumnPartials',
      wgsl: () => COLUMN_PARTIALS_WGSL,
      names: ['X'],
      size: p.chunks * cols,
      dispatch: [Math.ceil(cols / COLUMNS), p.chunks, 1],
      workgroupSize: [COLUMNS, LANES, 1],
      uniforms: [
        ['rows', 'i32', rows],
        ['cols', 'i32', cols],
        ['rowsPerChunk', 'i32', p.rowsPerChunk],
      ],
    },
    [x],
  ); // (1, 1, chunks·cols)
  const total = runFlat(backend, 'mlaColumnTotals', COLUMN_TOTALS_WGSL, [cols], [partial], ['P'], [['chunks', 'i32', p.chunks]]);
  (backend as ProgramRunner & { disposeData(id: object): void }).disposeData(partial.dataId);
  return total;
}

type SumArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type ColumnSumsImpl = (backend: unknown, x: tf.TensorInfo, rows: number, cols: number) => tf.TensorInfo;

/**
 * A Sum kernel function: float32 sums over leading axes by `sums` (column sums of x as (rows, cols)), the
 * rest by `fallback`. The tests build it over a CPU simulation of the shaders.
 */
export function sumOverLeadingAxes(fallback: (args: SumArgs) => tf.TensorInfo | tf.TensorInfo[], sums: ColumnSumsImpl) {
  return (args: SumArgs): tf.TensorInfo | tf.TensorInfo[] => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const k = x.dtype === 'float32' ? leadingAxes(tf.util.parseAxisParam(axis, x.shape), x.shape.length) : 0;
    const rows = x.shape.slice(0, k).reduce((a, d) => a * d, 1);
    const trailing = x.shape.slice(k);
    const cols = trailing.reduce((a, d) => a * d, 1);
    if (k === 0 || rows === 0 || cols === 0) return fallback(args);
    const out = sums(args.backend, x, rows, cols); // (cols)
    return { ...out, shape: keepDims ? [...new Array(k).fill(1), ...trailing] : trailing }; // the same buffer, viewed
  };
}

let registered = false;

/** Puts column sums in front of tfjs-backend-webgpu's Sum for float32 sums over leading axes. */
export function registerColumnSums(): void {
  if (registered) return;
  const original = tf.getKernel('Sum', 'webgpu');
  if (!original) return;
  tf.unregisterKernel('Sum', 'webgpu');
  tf.registerKernel({ ...original, kernelFunc: sumOverLeadingAxes(original.kernelFunc as never, columnSums) as tf.KernelFunc });
  registered = true;
}
