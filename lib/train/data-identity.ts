// A run's data identity: what config.json's `data` must match for a resume or an evaluation to mean anything.
// The spec says where the corpus came from, the corpus hash what it held, the tokenizer hash how it became ids;
// any of them differing means other tokens, so the run is refused rather than continued on other data.
import * as fs from 'node:fs';
import { sha256File } from '../data/hash';
import { TrainingError } from './errors';

export const DATA_IDENTITY = ['spec', 'corpusHash', 'tokenizerSha256'] as const;

/**
 * The identity fields where `saved` and `now` differ, as "field: run has X, now Y". A field absent on either
 * side is not compared (run folders from before the tokenizer hash was recorded still resume).
 */
export function dataIdentityDifferences(saved: Record<string, unknown> | null | undefined, now: Record<string, unknown> | null | undefined): string[] {
  if (!saved || !now) return [];
  return DATA_IDENTITY.filter((k) => saved[k] !== undefined && now[k] !== undefined && saved[k] !== now[k]).map(
    (k) => `${k}: run has ${JSON.stringify(saved[k])}, now ${JSON.stringify(now[k])}`,
  );
}

/** Throws a one-line TrainingError when the data differs; `what` names the action ("--resume of DIR"). */
export function checkDataIdentity(saved: Record<string, unknown> | null | undefined, now: Record<string, unknown> | null | undefined, what: string): void {
  const diff = dataIdentityDifferences(saved, now);
  if (!diff.length) return;
  const spec = saved?.spec === undefined ? '' : ` (--data ${String(saved.spec)})`;
  throw new TrainingError(`${what}: the data differs from the run's (${diff.join('; ')}); use the run's data${spec} as it was, or start a new run`);
}

/**
 * `describe` with the sha256 of the tokenizer file it names (a TrainData description names the file, and a
 * file of the same path may hold another tokenizer after the corpus changed).
 */
export async function withTokenizerHash(describe: Record<string, unknown> | undefined): Promise<Record<string, unknown> | undefined> {
  if (!describe || describe.tokenizerSha256 !== undefined || typeof describe.tokenizer !== 'string' || !fs.existsSync(describe.tokenizer)) return describe;
  return { ...describe, tokenizerSha256: await sha256File(describe.tokenizer) };
}
