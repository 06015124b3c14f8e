// Low-rank factorisations for the MHA → MLA conversion, on row-major (in, out) weight matrices as the
// checkpoints store them. The SVD is ml-matrix's (Golub–Kahan, singular values in decreasing order).
import { createHash } from 'node:crypto';
import { Matrix, SVD } from 'ml-matrix';

/** A row-major matrix of `rows` × `cols` doubles. */
export interface Dense {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function dense(rows: number, cols: number, data?: ArrayLike<number>): Dense {
  const d = new Float64Array(rows * cols);
  if (data) d.set(data);
  return { rows, cols, data: d };
}

/** Columns `cols` of `m`, in that order, as a new matrix (m.rows × cols.length). */
export function pickColumns(m: Dense, cols: readonly number[]): Dense {
  const out = dense(m.rows, cols.length);
  for (let r = 0; r < m.rows; r++) {
    for (let j = 0; j < cols.length; j++) out.data[r * cols.length + j] = m.data[r * m.cols + cols[j]];
  }
  return out;
}

/** [a | b | …] side by side (all with the same rows). */
export function hconcat(parts: readonly Dense[]): Dense {
  const rows = parts[0].rows;
  const cols = parts.reduce((a, p) => a + p.cols, 0);
  const out = dense(rows, cols);
  let off = 0;
  for (const p of parts) {
    for (let r = 0; r < rows; r++) out.data.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), r * cols + off);
    off += p.cols;
  }
  return out;
}

type Svd = { U: Matrix; V: Matrix; s: number[] };

// The last SVDs computed, by the matrix's content: a conversion sweep factors the same [W_K | W_V] and W_Q of each
// layer once per rank, and the SVD (seconds per 35M layer in ml-matrix) is what a sweep spends its time on, so
// every rank after the first truncates the same decomposition. Sized for one 8-layer model's two matrices a layer.
const SVD_MEMO_SIZE = 16;
const svdMemo = new Map<string, Svd>();
let svdsComputed = 0;

/** How many SVDs lowRank has computed (not served from its memo) in this process: for tests. */
export function svdCount(): number {
  return svdsComputed;
}

function svdOf(m: Dense): Svd {
  const key = createHash('sha1').update(`${m.rows}x${m.cols}:`).update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength)).digest('hex');
  const hit = svdMemo.get(key);
  if (hit) {
    svdMemo.delete(key); // most recently used last
    svdMemo.set(key, hit);
    return hit;
  }
  const svd = new SVD(Matrix.from1DArray(m.rows, m.cols, Array.from(m.data)), { autoTranspose: true });
  // U (rows, k), V (cols, k), singular values largest first.
  const out = { U: svd.leftSingularVectors, V: svd.rightSingularVectors, s: svd.diagonal };
  svdsComputed++;
  svdMemo.set(key, out);
  if (svdMemo.size > SVD_MEMO_SIZE) svdMemo.delete(svdMemo.keys().next().value as string);
  return out;
}

export interface LowRank {
  /** (rows, rank) = U_R · √S_R */
  down: Dense;
  /** (rank, cols) = √S_R · V_Rᵀ */
  up: Dense;
  /** Every singular value of the input, largest first. */
  singular: number[];
}

/**
 * The best rank-`rank` factorisation m ≈ down · up (Eckart–Young), the singular values split evenly
 * (√S on each side) so that neither factor carries the whole scale: the latent x·down stays of the same order
 * as the values it reconstructs, which matters once the latent is quantized.
 */
export function lowRank(m: Dense, rank: number): LowRank {
  const max = Math.min(m.rows, m.cols);
  if (!Number.isInteger(rank) || rank < 1 || rank > max) {
    throw new RangeError(`rank ${rank} must be an integer in 1..${max} for a ${m.rows}×${m.cols} matrix`);
  }
  const { U, V, s } = svdOf(m);
  const down = dense(m.rows, rank);
  const up = dense(rank, m.cols);
  for (let k = 0; k < rank; k++) {
    const root = Math.sqrt(Math.max(0, s[k]));
    for (let r = 0; r < m.rows; r++) down.data[r * rank + k] = U.get(r, k) * root;
    for (let c = 0; c < m.cols; c++) up.data[k * m.cols + c] = V.get(c, k) * root;
  }
  return { down, up, singular: s.slice() };
}

/**
 * For complex vectors a_h ∈ C^n (given as re/im parts) and weights w_h, the unit vector b and coefficients m_h
 * minimising Σ_h w_h² |a_h − m_h b|²: the top left singular vector of the complex matrix [w_h a_h], found
 * through its real embedding [[Re, −Im], [Im, Re]] (each complex singular value appears there twice, and any
 * top vector [u_re; u_im] gives b = u_re + i u_im up to a phase). Returns b, m_h = bᴴ a_h, and the weighted
 * residual as a fraction of Σ w_h² |a_h|².
 */
export function sharedComplexDirection(re: Dense, im: Dense, weights: readonly number[]): { bRe: Float64Array; bIm: Float64Array; mRe: number[]; mIm: number[]; residual: number } {
  const n = re.rows;
  const H = re.cols;
  const emb = new Matrix(2 * n, 2 * H);
  for (let c = 0; c < n; c++) {
    for (let h = 0; h < H; h++) {
      const ar = weights[h] * re.data[c * H + h];
      const ai = weights[h] * im.data[c * H + h];
      emb.set(c, h, ar);
      emb.set(n + c, h, ai);
      emb.set(c, H + h, -ai); // the column of i·a_h
      emb.set(n + c, H + h, ar);
    }
  }
  const u = new SVD(emb, { autoTranspose: true, computeRightSingularVectors: false }).leftSingularVectors;
  const bRe = new Float64Array(n);
  const bIm = new Float64Array(n);
  let norm = 0;
  for (let c = 0; c < n; c++) {
    bRe[c] = u.get(c, 0);
    bIm[c] = u.get(n + c, 0);
    norm += bRe[c] ** 2 + bIm[c] ** 2;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let c = 0; c < n; c++) {
    bRe[c] *= inv;
    bIm[c] *= inv;
  }
  const mRe: number[] = [];
  const mIm: number[] = [];
  let total = 0;
  let kept = 0;
  for (let h = 0; h < H; h++) {
    // m = Σ conj(b_c) a_c
    let r = 0;
    let i = 0;
    let sq = 0;
    for (let c = 0; c < n; c++) {
      const ar = re.data[c * H + h];
      const ai = im.data[c * H + h];
      r += bRe[c] * ar + bIm[c] * ai;
      i += bRe[c] * ai - bIm[c] * ar;
      sq += ar * ar + ai * ai;
    }
    mRe.push(r);
    mIm.push(i);
    total += weights[h] ** 2 * sq;
    kept += weights[h] ** 2 * (r * r + i * i);
  }
  return { bRe, bIm, mRe, mIm, residual: total > 0 ? Math.max(0, 1 - kept / total) : 0 };
}
