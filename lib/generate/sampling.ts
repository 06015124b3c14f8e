// Choosing the next token from one row of logits: greedy, or temperature with an optional top-k cut, drawing
// from a seeded Rng so a seed reproduces a generation.
import { Rng } from '../data/prng';

export interface SamplingOptions {
  /** 0 = greedy (argmax). Otherwise logits are divided by it before the softmax. */
  temperature: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function sampleToken(row: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  if (!(opts.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${opts.temperature}`);
  if (opts.temperature === 0) return argmax(row);
  const k = opts.topK && opts.topK > 0 ? Math.min(opts.topK, row.length) : row.length;
  // Indices of the k largest logits (a full sort is fine at vocabulary sizes of 10^4).
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b] - row[a]).slice(0, k);
  const max = row[order[0]];
  const weights = order.map((i) => Math.exp((row[i] - max) / opts.temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let u = rng.next() * total;
  for (let j = 0; j < order.length; j++) {
    u -= weights[j];
    if (u < 0) return order[j];
  }
  return order[order.length - 1];
}
