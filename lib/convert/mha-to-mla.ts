// MHA → MLA conversion (the idea of MHA2MLA and TransMLA, on this lab's MLA): a trained MHA/GQA/MQA model
// becomes an MLA model with the same trunk, MLP, embeddings, head and W_o.
//
//   keys/values: the per-query-head [K_nope | V] of each layer (GQA/MQA KV heads repeated for the query heads
//     that read them) is factorised jointly by SVD: [W_K | W_V] ≈ W_down · W_up at rank Rkv, W_down = U√S
//     (the latent is x·W_down, cached) and W_up = √S·Vᵀ (MLA's w_ukv, [per-head K_nope | per-head V]).
//   queries: W_q ≈ W_dq · W_uq by the same SVD at rank Rq (exact at Rq = dModel).
//   LayerNorm: our MLA normalises both latents; a LayerNorm between W_down and W_up would make attention a
//     different function of x, so the converted model sets latentNorm 'none' (no q_norm / kv_norm) and the
//     factorisation is exact at full rank. Fine-tuning keeps it linear; nothing else in MLA changes.
//   RoPE (approximate, stated in the report): an MHA head rotates frequency pairs i = 0 .. D/2−1 (dims i and
//     i + D/2, frequency θ^(−2i/D)); our MLA's rotated sub-head of r dims carries pairs 0 .. r/2−1 at the same
//     frequencies, so those r/2 pairs — the highest frequencies, MHA2MLA's "S_high" choice — are the ones that
//     can keep their rotation. The others become no-RoPE dims of each head and lose their position dependence
//     (MHA2MLA's partial RoPE does the same). MHA2MLA's 2-norm criterion (‖q_i‖·‖k_i‖ summed over heads, here
//     from the weights since the conversion sees no data) is reported for every pair, with the share of it the
//     kept pairs hold against the best r/2 pairs: our RoPE tables fix which frequencies a sub-head uses, so the
//     ranking measures the choice but cannot change it.
//   The shared RoPE key: MLA has one RoPE key for all heads, MHA one per head. For each kept pair, the heads'
//     key weights a_h (a pair of columns read as one complex column) are fitted as m_h·b with one shared b
//     (the top complex singular vector of [‖q_h‖ a_h], lib/convert/factorize.ts); a complex factor commutes
//     with the rotation, so conj(m_h) moves into head h's query and only the part of a_h off b is lost. Exact
//     for MQA (one key), and whenever the heads' RoPE keys are complex multiples of one another.
// So: with learned positions the conversion is exact at full rank; with RoPE it is exact only in those cases.
// Shape legend: C model dim, H heads, Hk KV heads, D head dim, N = D − r no-RoPE dims, r RoPE dims.
import type { ModelConfig } from '../config/model-config';
import { deriveSizes } from '../config/model-config';
import { validateConfig } from '../config/validate';
import { parameterShapes } from '../costs/params';
import { Dense, dense, hconcat, lowRank, pickColumns, sharedComplexDirection } from './factorize';

export interface ConvertOptions {
  /** Width of the KV latent, 1 .. dModel (dModel: exact for learned positions). */
  kvRank: number;
  /** Width of the query latent (default dModel: no query compression). */
  qRank?: number;
  /** RoPE dims of each MLA head, even, 0 < r < D (default: the source's partial RoPE dims, or D/2). */
  ropeDim?: number;
}

export interface LayerReport {
  layer: number;
  /** Singular values of the layer's [K_nope | V], largest first. */
  kvSingular: number[];
  /** Σ_{k<Rkv} s_k² / Σ s_k²: the share of [K_nope | V]'s Frobenius energy the latent keeps. */
  kvEnergyKept: number;
  qEnergyKept: number;
  /** MHA2MLA's 2-norm importance of each source frequency pair (empty without RoPE). */
  ropeImportance: number[];
  /** The share of the importance held by the kept pairs, and by the best r/2 pairs by importance. */
  ropeKeptShare: number;
  ropeBestShare: number;
  /** Mean over kept pairs of the shared RoPE key's weighted relative residual (0: exact). */
  sharedKeyResidual: number;
}

export interface ConvertReport {
  from: { attention: string; nKvHeads: number; rotaryDim: number };
  kvRank: number;
  qRank: number;
  ropeDim: number;
  /** Whether the converted model computes the same function as the source (up to float rounding). */
  exact: boolean;
  layers: LayerReport[];
}

export interface ConvertResult {
  config: ModelConfig;
  weights: Record<string, Float32Array>;
  report: ConvertReport;
}

/** The MLA config a conversion produces, validated (throws with the bad option and the fix). */
export function convertedConfig(c: ModelConfig, opts: ConvertOptions): ModelConfig {
  if (c.attention !== 'mha' && c.attention !== 'gqa' && c.attention !== 'mqa') {
    throw new RangeError(`conversion reads MHA, GQA or MQA checkpoints; this one is '${c.attention}'`);
  }
  const { headDim: D, rotaryDim: r0 } = deriveSizes(c);
  const rope = c.positions === 'rope';
  const r = rope ? (opts.ropeDim ?? (r0 < D ? r0 : D / 2)) : (opts.ropeDim ?? 0);
  if (!rope && r !== 0) throw new RangeError(`--rope-dims ${r}: the source has learned positions, so the MLA has no RoPE dims; leave it out`);
  if (rope && !(Number.isInteger(r) && r > 0 && r < D && r % 2 === 0 && r <= r0)) {
    throw new RangeError(`--rope-dims ${r} must be even with 0 < r < ${D} and at most the source's ${r0} rotated dims`);
  }
  const out: ModelConfig = {
    ...c,
    attention: 'mla',
    nKvHeads: c.nHeads,
    qRank: opts.qRank ?? c.dModel,
    kvRank: opts.kvRank,
    ropeDim: r,
    latentNorm: 'none',
  };
  return validateConfig(out);
}

/** Source head dims (0 .. D−1) feeding the MLA head's no-RoPE dims, and the kept RoPE pairs (dims d1, d2). */
function headLayout(D: number, r0: number, r: number) {
  const N0 = D - r0; // the source's unrotated dims come first (partial RoPE rotates the last r0)
  const nope: number[] = [];
  for (let d = 0; d < N0; d++) nope.push(d);
  for (let j = r / 2; j < r0 / 2; j++) nope.push(N0 + j);
  for (let j = r / 2; j < r0 / 2; j++) nope.push(N0 + r0 / 2 + j);
  const pairs = Array.from({ length: r0 / 2 }, (_, j) => ({ d1: N0 + j, d2: N0 + r0 / 2 + j }));
  return { nope, pairs };
}

const colNorm2 = (m: Dense, col: number) => {
  let s = 0;
  for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + col] ** 2;
  return s;
};

const energyKept = (s: number[], rank: number) => {
  const sq = s.map((x) => x * x);
  const total = sq.reduce((a, b) => a + b, 0);
  return total > 0 ? sq.slice(0, rank).reduce((a, b) => a + b, 0) / total : 1;
};

/** Converts the weights of an MHA-family model (row-major (in, out) arrays, checkpoint names) to MLA. */
export function convertMhaToMla(c: ModelConfig, weights: Record<string, Float32Array>, opts: ConvertOptions): ConvertResult {
  validateConfig(c);
  const target = convertedConfig(c, opts);
  const { headDim: D, kvHeads: Hk, rotaryDim: r0 } = deriveSizes(c);
  const { nopeDim: N, rotaryDim: r } = deriveSizes(target);
  const H = c.nHeads;
  const C = c.dModel;
  for (const [name, shape] of Object.entries(parameterShapes(c))) {
    const w = weights[name];
    const want = shape.reduce((a, b) => a * b, 1);
    if (!w || w.length !== want) throw new RangeError(`source weights lack '${name}' of shape [${shape}] (got ${w ? w.length : 'nothing'})`);
  }
  const layout = headLayout(D, r0, r);
  const out: Record<string, Float32Array> = {};
  const layers: LayerReport[] = [];
  for (const name of Object.keys(parameterShapes(target))) if (!name.includes('.attn.')) out[name] = weights[name];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `blocks.${i}.attn.`;
    const Wq = dense(C, H * D, weights[`${p}w_q`]); // (C, H·D)
    const Wk = dense(C, Hk * D, weights[`${p}w_k`]); // (C, Hk·D)
    const Wv = dense(C, Hk * D, weights[`${p}w_v`]); // (C, Hk·D)
    const kvHead = (h: number) => Math.floor((h * Hk) / H);
    const heads = Array.from({ length: H }, (_, h) => h);

    // [K_nope | V] per query head: (C, H·N) then (C, H·D), as w_ukv's column blocks.
    const kNope = pickColumns(Wk, heads.flatMap((h) => layout.nope.map((d) => kvHead(h) * D + d)));
    const v = pickColumns(Wv, heads.flatMap((h) => Array.from({ length: D }, (_, d) => kvHead(h) * D + d)));
    const kv = lowRank(hconcat([kNope, v]), opts.kvRank);

    // Queries in MLA's head layout [nope N | rope r]; the RoPE half is filled pair by pair below.
    const q = dense(C, H * D);
    const setCol = (m: Dense, col: number, from: Dense, fromCol: number, scale = 1) => {
      for (let row = 0; row < C; row++) m.data[row * m.cols + col] += scale * from.data[row * from.cols + fromCol];
    };
    for (const h of heads) layout.nope.forEach((d, t) => setCol(q, h * D + t, Wq, h * D + d));

    // The shared RoPE key (C, r) and each head's query pair, one kept frequency pair j at a time.
    const kRope = dense(C, r);
    const importance = layout.pairs.map(({ d1, d2 }) =>
      heads.reduce((a, h) => a + Math.sqrt((colNorm2(Wq, h * D + d1) + colNorm2(Wq, h * D + d2)) * (colNorm2(Wk, kvHead(h) * D + d1) + colNorm2(Wk, kvHead(h) * D + d2))), 0),
    );
    let residual = 0;
    for (let j = 0; j < r / 2; j++) {
      const { d1, d2 } = layout.pairs[j];
      const re = pickColumns(Wk, heads.map((h) => kvHead(h) * D + d1)); // (C, H)
      const im = pickColumns(Wk, heads.map((h) => kvHead(h) * D + d2)); // (C, H)
      const w = heads.map((h) => Math.sqrt(colNorm2(Wq, h * D + d1) + colNorm2(Wq, h * D + d2)));
      const fit = sharedComplexDirection(re, im, w.every((x) => x === 0) ? w.map(() => 1) : w);
      residual += fit.residual / (r / 2);
      for (let row = 0; row < C; row++) {
        kRope.data[row * r + j] = fit.bRe[row];
        kRope.data[row * r + r / 2 + j] = fit.bIm[row];
      }
      // k_h ≈ m_h·b, so q_h·k_h ≈ (conj(m_h)·q_h)·b: q̃1 = m_re q1 + m_im q2, q̃2 = m_re q2 − m_im q1.
      for (const h of heads) {
        const [mr, mi] = [fit.mRe[h], fit.mIm[h]];
        setCol(q, h * D + N + j, Wq, h * D + d1, mr);
        setCol(q, h * D + N + j, Wq, h * D + d2, mi);
        setCol(q, h * D + N + r / 2 + j, Wq, h * D + d2, mr);
        setCol(q, h * D + N + r / 2 + j, Wq, h * D + d1, -mi);
      }
    }
    const qf = lowRank(q, target.qRank);

    out[`${p}w_dq`] = Float32Array.from(qf.down.data); // (C, Rq)
    out[`${p}w_uq`] = Float32Array.from(qf.up.data); // (Rq, H·D)
    out[`${p}w_dkv`] = Float32Array.from(hconcat([kv.down, kRope]).data); // (C, Rkv + r): [latent | RoPE key]
    out[`${p}w_ukv`] = Float32Array.from(kv.up.data); // (Rkv, H·N + H·D)
    out[`${p}w_o`] = weights[`${p}w_o`]; // (H·D, C): values keep their head layout
    const total = importance.reduce((a, b) => a + b, 0);
    const share = (xs: number[]) => (total > 0 ? xs.reduce((a, b) => a + b, 0) / total : 1);
    layers.push({
      layer: i,
      kvSingular: kv.singular,
      kvEnergyKept: energyKept(kv.singular, opts.kvRank),
      qEnergyKept: energyKept(qf.singular, target.qRank),
      ropeImportance: importance,
      ropeKeptShare: share(importance.slice(0, r / 2)),
      ropeBestShare: share([...importance].sort((a, b) => b - a).slice(0, r / 2)),
      sharedKeyResidual: residual,
    });
  }
  const exactRope = r0 === 0 || (r === r0 && layers.every((l) => l.sharedKeyResidual < 1e-9));
  const exact = exactRope && layers.every((l) => l.kvEnergyKept > 1 - 1e-12 && l.qEnergyKept > 1 - 1e-12);
  return {
    config: target,
    weights: out,
    report: { from: { attention: c.attention, nKvHeads: Hk, rotaryDim: r0 }, kvRank: opts.kvRank, qRank: target.qRank, ropeDim: r, exact, layers },
  };
}
