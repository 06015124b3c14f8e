// Encoded splits on disk, so later runs skip encoding: data/tokens/<dataset>-<hash8>-v<vocab>.<split>.<u16|i32>
// hold the token ids (little-endian; uint16 when every id fits, int32 otherwise) and
// data/tokens/<dataset>-<hash8>-v<vocab>.json describes them. Layout of each split: its documents in file order,
// each followed by the end-of-text id — the packer's stream, ready to cut into chunks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic';
import type { TextTokenizer } from './bpe';
import type { Corpus } from './corpus';
import { readDocuments } from './documents';
import { DataError } from './errors';
import { SPLITS, SplitName } from './split';

export type TokenArray = Uint16Array | Int32Array;
export type TokenDtype = 'uint16' | 'int32';

export interface TokenSplitStats {
  file: string;
  tokens: number;
  documents: number;
}

export interface TokenCacheManifest {
  format: 1;
  dataset: string;
  corpusHash: string;
  vocabSize: number;
  eotId: number;
  /** sha256 of the tokenizer file the ids were made with. */
  tokenizerSha256: string;
  dtype: TokenDtype;
  layout: 'documents in file order, each followed by eotId; little-endian';
  splits: Record<SplitName, TokenSplitStats>;
  encodeSeconds: number;
  /** Encode speed of the build: tokens of all splits / encodeSeconds. */
  tokensPerSecond: number;
}

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'int32';
}

const EXT: Record<TokenDtype, string> = { uint16: 'u16', int32: 'i32' };

/** A typed array that doubles when full; `view()` is the filled part. */
class GrowableTokens {
  private buf: TokenArray;
  length = 0;
  constructor(private readonly dtype: TokenDtype) {
    this.buf = dtype === 'uint16' ? new Uint16Array(1 << 16) : new Int32Array(1 << 16);
  }
  push(ids: readonly number[]): void {
    if (this.length + ids.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.length + ids.length) cap *= 2;
      const next = this.dtype === 'uint16' ? new Uint16Array(cap) : new Int32Array(cap);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(ids, this.length);
    this.length += ids.length;
  }
  view(): TokenArray {
    return this.buf.subarray(0, this.length);
  }
}

/** Encodes one split file: each document's ids followed by eotId. */
export async function encodeSplitFile(file: string, tokenizer: TextTokenizer, dtype: TokenDtype = dtypeFor(tokenizer.vocabSize)): Promise<{ tokens: TokenArray; documents: number }> {
  const out = new GrowableTokens(dtype);
  let documents = 0;
  for await (const doc of readDocuments(file)) {
    const ids = tokenizer.encode(doc);
    ids.push(tokenizer.eotId);
    out.push(ids);
    documents++;
  }
  return { tokens: out.view(), documents };
}

function checkEndianness(): void {
  if (os.endianness() !== 'LE') throw new DataError('token caches are little-endian and this machine is big-endian; not supported');
}

export function tokenCachePrefix(root: string, corpus: Pick<Corpus, 'name' | 'corpusHash'>, vocabSize: number): string {
  return path.join(root, 'tokens', `${corpus.name}-${corpus.corpusHash.slice(0, 8)}-v${vocabSize}`);
}

export async function buildTokenCache(
  prefix: string,
  corpus: Corpus,
  tokenizer: TextTokenizer,
  tokenizerSha256: string,
  log: (s: string) => void = () => {},
): Promise<{ manifest: TokenCacheManifest; splits: Record<SplitName, TokenArray> }> {
  checkEndianness();
  fs.mkdirSync(path.dirname(prefix), { recursive: true });
  const dtype = dtypeFor(tokenizer.vocabSize);
  const t0 = performance.now();
  const splits = {} as Record<SplitName, TokenArray>;
  const stats = {} as Record<SplitName, TokenSplitStats>;
  for (const split of SPLITS) {
    const { tokens, documents } = await encodeSplitFile(corpus.files[split], tokenizer, dtype);
    const file = `${prefix}.${split}.${EXT[dtype]}`;
    writeFileAtomic(file, new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength));
    splits[split] = tokens;
    stats[split] = { file: path.basename(file), tokens: tokens.length, documents };
    log(`encoded ${split}: ${tokens.length} tokens`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const total = SPLITS.reduce((s, k) => s + stats[k].tokens, 0);
  const manifest: TokenCacheManifest = {
    format: 1,
    dataset: corpus.name,
    corpusHash: corpus.corpusHash,
    vocabSize: tokenizer.vocabSize,
    eotId: tokenizer.eotId,
    tokenizerSha256,
    dtype,
    layout: 'documents in file order, each followed by eotId; little-endian',
    splits: stats,
    encodeSeconds: +seconds.toFixed(3),
    tokensPerSecond: Math.round(total / seconds),
  };
  writeFileAtomic(`${prefix}.json`, JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, splits };
}

export function readTokenCacheManifest(prefix: string): TokenCacheManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as TokenCacheManifest;
  } catch {
    return undefined;
  }
}

/** The cached splits if the manifest matches the corpus and tokenizer and every file has the recorded length;
 * undefined otherwise (the caller re-encodes). */
export function loadTokenCache(
  prefix: string,
  expect: { corpusHash: string; vocabSize: number; eotId: number; tokenizerSha256: string },
): { manifest: TokenCacheManifest; splits: Record<SplitName, TokenArray> } | undefined {
  checkEndianness();
  const m = readTokenCacheManifest(prefix);
  if (!m || m.format !== 1 || m.corpusHash !== expect.corpusHash || m.vocabSize !== expect.vocabSize || m.eotId !== expect.eotId || m.tokenizerSha256 !== expect.tokenizerSha256) {
    return undefined;
  }
  const splits = {} as Record<SplitName, TokenArray>;
  const width = m.dtype === 'uint16' ? 2 : 4;
  for (const split of SPLITS) {
    const file = path.join(path.dirname(prefix), m.splits[split].file);
    if (!fs.existsSync(file) || fs.statSync(file).size !== m.splits[split].tokens * width) return undefined;
    const buf = fs.readFileSync(file);
    // Copy into a fresh ArrayBuffer: a Buffer's offset need not be aligned for a 2- or 4-byte view.
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    splits[split] = m.dtype === 'uint16' ? new Uint16Array(ab) : new Int32Array(ab);
  }
  return { manifest: m, splits };
}
