// A prepared dataset packed into one folder, for a machine that has neither the corpus packages nor the
// tokenizer binding (the GPU machine): the token cache (manifest + split files) and the tokenizer file, plus
// packed.json naming the corpus. Loading checks the tokenizer's and the token files' identity, so a run trained
// from a pack has the same corpus hash, token ids and run-folder hash as one trained from data/ here.
//   <dir>/packed.json
//   <dir>/tokenizer.json          (a copy of data/tokenizers/<dataset>-<hash8>-v<vocab>.json)
//   <dir>/<dataset>-<hash8>-v<vocab>.{json,train.u16,val.u16,test.u16}
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from './bpe';
import { DataError } from './errors';
import { sha256File } from './hash';
import type { PreparedDataset } from './prepare';
import { formatDataSpec, toDataSpec } from './spec';
import { SPLITS, SplitName } from './split';
import { loadTokenCache, tokenCachePrefix } from './token-cache';

/** What training and evaluation read of a dataset; a PreparedDataset is one, and so is a loaded pack. */
export type TrainingDataset = Pick<PreparedDataset, 'name' | 'spec' | 'corpusHash' | 'tokenizer' | 'tokenizerPath' | 'splits' | 'tokenCounts' | 'eotId' | 'vocabSize'>;

export const PACKED_FILE = 'packed.json';

interface PackedManifest {
  format: 1;
  spec: string;
  name: string;
  corpusHash: string;
  vocabSize: number;
  eotId: number;
  /** File names inside the pack. */
  tokenizer: string;
  tokenizerSha256: string;
  tokenCache: string;
}

/** Copies `ds`'s token cache and tokenizer into `dir` (created); returns the files written. */
export async function packDataset(ds: PreparedDataset, dir: string, root: string): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const prefix = tokenCachePrefix(root, ds.corpus, ds.vocabSize);
  const stem = path.basename(prefix);
  const written: string[] = [];
  const copy = (from: string, name: string) => {
    fs.copyFileSync(from, path.join(dir, name));
    written.push(path.join(dir, name));
  };
  copy(`${prefix}.json`, `${stem}.json`);
  for (const split of SPLITS) copy(path.join(path.dirname(prefix), ds.tokenCache.splits[split].file), ds.tokenCache.splits[split].file);
  // Its own name: the tokenizer and the token-cache manifest share a stem in data/.
  const tokenizerName = 'tokenizer.json';
  copy(ds.tokenizerPath, tokenizerName);
  const manifest: PackedManifest = {
    format: 1,
    spec: formatDataSpec(ds.spec),
    name: ds.name,
    corpusHash: ds.corpusHash,
    vocabSize: ds.vocabSize,
    eotId: ds.eotId,
    tokenizer: tokenizerName,
    tokenizerSha256: ds.tokenCache.tokenizerSha256,
    tokenCache: stem,
  };
  fs.writeFileSync(path.join(dir, PACKED_FILE), JSON.stringify(manifest, null, 1) + '\n');
  written.push(path.join(dir, PACKED_FILE));
  return written;
}

/** The dataset packed in `dir` by packDataset; throws DataError naming what is missing or does not match. */
export async function loadPackedDataset(dir: string): Promise<TrainingDataset> {
  const file = path.join(dir, PACKED_FILE);
  let m: PackedManifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as PackedManifest;
  } catch (e) {
    throw new DataError(`cannot read ${file} (${(e as Error).message}); make the pack with: mla data pack --out ${dir}`);
  }
  if (m.format !== 1) throw new DataError(`${file} has format ${m.format}, this version reads 1; repack with: mla data pack --out ${dir}`);
  const tokenizerPath = path.join(dir, m.tokenizer);
  const sha = fs.existsSync(tokenizerPath) ? await sha256File(tokenizerPath) : 'missing';
  if (sha !== m.tokenizerSha256) {
    throw new DataError(`tokenizer ${tokenizerPath} is ${sha === 'missing' ? 'missing' : `sha256 ${sha.slice(0, 12)}…`}, the pack expects ${m.tokenizerSha256.slice(0, 12)}…; repack with: mla data pack --out ${dir}`);
  }
  const tokenizer = loadTokenizer(tokenizerPath);
  const cache = loadTokenCache(path.join(dir, m.tokenCache), { corpusHash: m.corpusHash, vocabSize: m.vocabSize, eotId: m.eotId, tokenizerSha256: m.tokenizerSha256 });
  if (!cache) throw new DataError(`the token files in ${dir} do not match ${file} (missing, truncated or from another corpus); repack with: mla data pack --out ${dir}`);
  return {
    name: m.name,
    spec: toDataSpec(m.spec),
    corpusHash: m.corpusHash,
    tokenizer,
    tokenizerPath,
    splits: cache.splits,
    tokenCounts: Object.fromEntries(SPLITS.map((k) => [k, cache.splits[k].length])) as Record<SplitName, number>,
    eotId: m.eotId,
    vocabSize: m.vocabSize,
  };
}
