// Train/val/test assignment by document: a seeded hash of the document's id, so the split does not depend on
// the order documents are read in, never moves a document when others are added, and keeps every document
// whole inside one split (no sentence of a validation document is ever trained on).
import { createHash } from 'node:crypto';

export type SplitName = 'train' | 'val' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'val', 'test'];

/** Fractions of documents (in expectation) per split: 90 / 5 / 5. */
export const SPLIT_FRACTIONS: Readonly<Record<SplitName, number>> = { train: 0.9, val: 0.05, test: 0.05 };

/** The seed of the embedded corpus's split; changing it changes the corpus hash and every cached file. */
export const DEFAULT_SPLIT_SEED = 1729;

/** Uniform number in [0, 1) from sha256(`${seed}:${docId}`). */
export function docHashUnit(docId: string, seed: number): number {
  const h = createHash('sha256').update(`${seed}:${docId}`).digest();
  return h.readUInt32BE(0) / 4294967296;
}

export function splitOf(docId: string, seed: number = DEFAULT_SPLIT_SEED): SplitName {
  const u = docHashUnit(docId, seed);
  if (u < SPLIT_FRACTIONS.train) return 'train';
  if (u < SPLIT_FRACTIONS.train + SPLIT_FRACTIONS.val) return 'val';
  return 'test';
}
