// One call from a data spec to everything the trainer needs: the corpus folder, a tokenizer of exactly the
// requested size and the encoded splits, each built once under `root` (default 'data') and reused:
//   data/corpora/<dataset>/{train,val,test}.txt + manifest.json
//   data/tokenizers/<dataset>-<hash8>-base.json   (the binding's 30,000-token training run, shared by all sizes)
//   data/tokenizers/<dataset>-<hash8>-v<vocab>.json
//   data/tokens/<dataset>-<hash8>-v<vocab>.{train,val,test}.u16 + .json
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpeTokenizer, loadTokenizer, saveTokenizer, tablesFromMerges } from './bpe';
import { readBaseMerges, trainBaseTokenizer } from './bpe-train';
import { Corpus, CorpusStatus, corpusDir, ensureCorpus, inspectCorpus } from './corpus';
import { DataError } from './errors';
import { sha256File } from './hash';
import { DataSpec, formatDataSpec, toDataSpec } from './spec';
import { SPLITS, SplitName } from './split';
import { TokenArray, TokenCacheManifest, buildTokenCache, loadTokenCache, readTokenCacheManifest, tokenCachePrefix } from './token-cache';
import { dataRootSetting } from '../settings';

/** How the default data root is written in messages and help. */
export const DEFAULT_DATA_ROOT = 'data';

/** The default root: $MLA_DATA_ROOT if set, else the repository's data/ folder (repositoryDataDir), so notebooks
 * running in notebooks/ share the CLI's caches. */
export function defaultDataRoot(): string {
  const fromEnv = dataRootSetting();
  return fromEnv ? path.resolve(fromEnv) : repositoryDataDir();
}

/** The repository's data/ folder, found by walking up from this file to the package.json named 'mla-lab'; else ./data. */
export function repositoryDataDir(): string {
  for (let dir = __dirname; ; ) {
    const pkg = path.join(dir, 'package.json');
    try {
      if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mla-lab') return path.join(dir, DEFAULT_DATA_ROOT);
    } catch {
      // no package.json here: keep walking up
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(DEFAULT_DATA_ROOT);
    dir = up;
  }
}
export const DEFAULT_VOCAB_SIZE = 10000;

export interface PrepareOptions {
  vocabSize: number;
  /** Folder of corpora, tokenizers and token caches (default: defaultDataRoot(), the repository's data/). */
  root?: string;
  log?: (s: string) => void;
}

export interface PreparedDataset {
  name: string;
  spec: DataSpec;
  corpusHash: string;
  corpus: Corpus;
  tokenizer: BpeTokenizer;
  tokenizerPath: string;
  /** Each split's stream: documents in order, each followed by eotId. Never train on val or test. */
  splits: Record<SplitName, TokenArray>;
  tokenCounts: Record<SplitName, number>;
  eotId: number;
  vocabSize: number;
  /** What this call had to build (false: reused from disk). */
  built: { corpus: boolean; tokenizer: boolean; tokens: boolean };
  seconds: { corpus: number; tokenizer: number; tokens: number; total: number };
  tokenCache: TokenCacheManifest;
}

export function tokenizerPaths(root: string, corpus: Pick<Corpus, 'name' | 'corpusHash'>, vocabSize: number): { base: string; file: string } {
  const stem = path.join(root, 'tokenizers', `${corpus.name}-${corpus.corpusHash.slice(0, 8)}`);
  return { base: `${stem}-base.json`, file: `${stem}-v${vocabSize}.json` };
}

function checkVocab(vocabSize: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 257) {
    throw new DataError(`vocab size ${vocabSize} is invalid: it must be an integer ≥ 257 (256 byte tokens + <|endoftext|>)`);
  }
}

/** The tokenizer of `vocabSize` ids for the corpus, trained (once per corpus) and cut (once per size) if needed. */
export async function ensureTokenizer(
  corpus: Corpus,
  vocabSize: number,
  root: string,
  log: (s: string) => void = () => {},
): Promise<{ tokenizer: BpeTokenizer; file: string; built: boolean }> {
  checkVocab(vocabSize);
  const { base, file } = tokenizerPaths(root, corpus, vocabSize);
  if (fs.existsSync(file)) {
    try {
      const tokenizer = loadTokenizer(file);
      if (tokenizer.vocabSize === vocabSize) return { tokenizer, file, built: false };
      log(`tokenizer ${file} has ${tokenizer.vocabSize} ids, not ${vocabSize}; rebuilding it`);
    } catch (e) {
      log(`tokenizer ${file} is unreadable (${(e as Error).message}); rebuilding it`);
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (!fs.existsSync(base)) {
    log(`training byte-level BPE on ${corpus.files.train} (HuggingFace tokenizers)`);
    const t0 = performance.now();
    trainBaseTokenizer([corpus.files.train], base);
    log(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${base}`);
  }
  const tables = tablesFromMerges(readBaseMerges(base), vocabSize);
  saveTokenizer(tables, file);
  log(`tokenizer with ${vocabSize} ids → ${file}`);
  return { tokenizer: new BpeTokenizer(tables), file, built: true };
}

/** Corpus, tokenizer and encoded splits for `spec`, building whatever is missing or stale. */
export async function prepareDataset(specIn: DataSpec | string, opts: PrepareOptions): Promise<PreparedDataset> {
  const spec = toDataSpec(specIn);
  const root = opts.root ?? defaultDataRoot();
  const log = opts.log ?? (() => {});
  checkVocab(opts.vocabSize);
  const t0 = performance.now();

  const before = await inspectCorpus(spec, root);
  const corpus = before.state === 'ok' ? before.corpus : await ensureCorpus(spec, root, log);
  const t1 = performance.now();

  const tok = await ensureTokenizer(corpus, opts.vocabSize, root, log);
  const tokenizerSha256 = await sha256File(tok.file);
  const t2 = performance.now();

  const prefix = tokenCachePrefix(root, corpus, opts.vocabSize);
  const expect = { corpusHash: corpus.corpusHash, vocabSize: tok.tokenizer.vocabSize, eotId: tok.tokenizer.eotId, tokenizerSha256 };
  let cache = loadTokenCache(prefix, expect);
  const tokensBuilt = !cache;
  if (!cache) {
    log(`encoding ${spec.name} with ${tok.file}`);
    cache = await buildTokenCache(prefix, corpus, tok.tokenizer, tokenizerSha256, log);
    log(`encoded ${SPLITS.map((k) => `${k} ${cache!.manifest.splits[k].tokens}`).join(', ')} tokens at ${cache.manifest.tokensPerSecond} tokens/s`);
  }
  const t3 = performance.now();
  const s = (a: number, b: number) => +((b - a) / 1000).toFixed(3);
  return {
    name: spec.name,
    spec,
    corpusHash: corpus.corpusHash,
    corpus,
    tokenizer: tok.tokenizer,
    tokenizerPath: tok.file,
    splits: cache.splits,
    tokenCounts: Object.fromEntries(SPLITS.map((k) => [k, cache!.splits[k].length])) as Record<SplitName, number>,
    eotId: tok.tokenizer.eotId,
    vocabSize: tok.tokenizer.vocabSize,
    built: { corpus: before.state !== 'ok', tokenizer: tok.built, tokens: tokensBuilt },
    seconds: { corpus: s(t0, t1), tokenizer: s(t1, t2), tokens: s(t2, t3), total: s(t0, t3) },
    tokenCache: cache.manifest,
  };
}

export interface DatasetDescription {
  spec: string;
  vocabSize: number;
  corpus: CorpusStatus['state'];
  corpusDir: string;
  corpusReason?: string;
  corpusHash?: string;
  splits?: Record<SplitName, { documents: number; bytes: number; chars: number; tokens?: number }>;
  tokenizerPath?: string;
  tokenizer: 'ok' | 'missing';
  tokens: 'ok' | 'missing';
  tokenCache?: TokenCacheManifest;
  /** What to run to build what is missing; absent when everything is there. */
  buildCommand?: string;
}

/** What exists on disk for `spec` at `vocabSize`, without building anything. */
export async function describeDataset(specIn: DataSpec | string, opts: { vocabSize: number; root?: string }): Promise<DatasetDescription> {
  const spec = toDataSpec(specIn);
  const root = opts.root ?? defaultDataRoot();
  let st: CorpusStatus;
  try {
    st = await inspectCorpus(spec, root);
  } catch (e) {
    // The source (e.g. a WikiText folder) cannot be read: say so instead of failing.
    if (!(e instanceof DataError)) throw e;
    st = { state: 'missing', dir: corpusDir(root, spec.name), reason: e.message };
  }
  const buildCommand = `mla data build --data ${formatDataSpec(spec)} --vocab ${opts.vocabSize}${opts.root !== undefined && path.resolve(root) !== defaultDataRoot() ? ` --root ${root}` : ''}`;
  if (st.state !== 'ok') {
    return { spec: formatDataSpec(spec), vocabSize: opts.vocabSize, corpus: st.state, corpusDir: st.dir, corpusReason: st.reason, tokenizer: 'missing', tokens: 'missing', buildCommand };
  }
  const c = st.corpus;
  const { file } = tokenizerPaths(root, c, opts.vocabSize);
  const tokenizer = fs.existsSync(file) ? 'ok' : 'missing';
  const tm = readTokenCacheManifest(tokenCachePrefix(root, c, opts.vocabSize));
  const tokensOk = tokenizer === 'ok' && tm !== undefined && tm.corpusHash === c.corpusHash && tm.tokenizerSha256 === (await sha256File(file));
  const splits = Object.fromEntries(
    SPLITS.map((k) => {
      const m = c.manifest.splits[k];
      return [k, { documents: m.documents, bytes: m.bytes, chars: m.chars, ...(tokensOk ? { tokens: tm!.splits[k].tokens } : {}) }];
    }),
  ) as DatasetDescription['splits'];
  return {
    spec: formatDataSpec(spec),
    vocabSize: opts.vocabSize,
    corpus: 'ok',
    corpusDir: c.dir,
    corpusHash: c.corpusHash,
    splits,
    tokenizerPath: file,
    tokenizer,
    tokens: tokensOk ? 'ok' : 'missing',
    ...(tokensOk ? { tokenCache: tm } : {}),
    ...(tokenizer === 'ok' && tokensOk ? {} : { buildCommand }),
  };
}
