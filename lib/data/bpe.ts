// A byte-level BPE tokenizer: GPT-2's pre-tokenization, 256 byte tokens (id = byte value), then one token per
// merge in priority order, then the end-of-text token as the last id. Encoding and decoding are done here in
// TypeScript (synchronous, exact round trip for any well-formed string); the file format is HuggingFace's
// tokenizer.json, so the same file loads in `tokenizers` (Tokenizer.fromFile) and in Python.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../checkpoint/atomic';
import { bytesToTokenString, pretokenize, tokenStringToBytes } from './byte-level';
import { DataError } from './errors';

export const EOT_TOKEN = '<|endoftext|>';

/** What the trainer and evaluator need from a tokenizer. */
export interface TextTokenizer {
  /** Number of ids, the special end-of-text id included: ids are 0 … vocabSize-1. */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`, put between documents by the packer. */
  readonly eotId: number;
  /** Ids of `text`. The string "<|endoftext|>" inside text is encoded as ordinary text, never as eotId. */
  encode(text: string): number[];
  /** Text of `ids`; eotId decodes to "<|endoftext|>". Ids that cut a multi-byte character give U+FFFD. */
  decode(ids: ArrayLike<number>): string;
}

/** The learned part of a byte-level BPE tokenizer. */
export interface BpeTables {
  /** Bytes of every ordinary token, by id (ids 0-255 are the single bytes). */
  tokens: Uint8Array[];
  /** Merges in priority order: [left id, right id, merged id]. Two merges can make the same token. */
  merges: Array<[number, number, number]>;
}

// Pair key: left * 2^21 + right stays an exact integer for vocabularies below 2^21 ids.
const PAIR = 2097152;
const CACHE_LIMIT = 1 << 19;

export class BpeTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eotId: number;
  private readonly rank = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly eotBytes = Buffer.from(EOT_TOKEN, 'utf8');

  constructor(readonly tables: BpeTables) {
    this.eotId = tables.tokens.length;
    this.vocabSize = tables.tokens.length + 1;
    if (this.vocabSize >= PAIR) throw new DataError(`vocabulary of ${this.vocabSize} ids is too large (max ${PAIR - 1})`);
    tables.merges.forEach(([a, b], r) => {
      const key = a * PAIR + b;
      if (!this.rank.has(key)) this.rank.set(key, r);
    });
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of pretokenize(text)) {
      const ids = this.encodePiece(piece);
      for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    }
    return out;
  }

  /** BPE of one pre-token: repeatedly merge the adjacent pair with the lowest rank (all its occurrences, left
   * to right), as GPT-2 does; equal to HuggingFace's one-at-a-time order. Cached, since words repeat. */
  private encodePiece(piece: string): number[] {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let ids: number[] = Array.from(Buffer.from(piece, 'utf8'));
    while (ids.length > 1) {
      let best = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rank.get(ids[i] * PAIR + ids[i + 1]);
        if (r !== undefined && r < best) best = r;
      }
      if (best === Infinity) break;
      const [a, b, m] = this.tables.merges[best];
      const next: number[] = [];
      for (let i = 0; i < ids.length; ) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(m);
          i += 2;
        } else next.push(ids[i++]);
      }
      ids = next;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === this.eotId) parts.push(this.eotBytes);
      else {
        const t = this.tables.tokens[id];
        if (!t) throw new DataError(`token id ${id} is outside the vocabulary 0…${this.vocabSize - 1}`);
        parts.push(t);
      }
    }
    return Buffer.concat(parts).toString('utf8');
  }

  /** The token's text as HuggingFace writes it (byte stand-in characters), for display. */
  tokenString(id: number): string {
    return id === this.eotId ? EOT_TOKEN : bytesToTokenString(this.tables.tokens[id] ?? []);
  }
}

/** The tokenizer with exactly `vocabSize` ids from a list of learned merges (token strings in byte stand-in
 * characters, in the order a BPE trainer learned them): the 256 bytes, then merges in order until
 * vocabSize - 1 ordinary tokens exist, then end-of-text. Because BPE training is greedy, this is the tokenizer a
 * run asked for exactly that many merges would have produced. */
export function tablesFromMerges(merges: ReadonlyArray<readonly [string, string]>, vocabSize: number): BpeTables {
  const minVocab = 257;
  if (!Number.isInteger(vocabSize) || vocabSize < minVocab) {
    throw new DataError(`vocab size ${vocabSize} is too small: byte-level BPE needs 256 byte tokens + <|endoftext|>, so at least ${minVocab}`);
  }
  const tokens: Uint8Array[] = [];
  const idOf = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    tokens.push(Uint8Array.of(b));
    idOf.set(bytesToTokenString([b]), b);
  }
  const out: Array<[number, number, number]> = [];
  const ordinary = vocabSize - 1;
  for (const [left, right] of merges) {
    const a = idOf.get(left);
    const b = idOf.get(right);
    if (a === undefined || b === undefined) throw new DataError(`merge '${left} ${right}' uses a token no earlier merge made; the merge list is corrupt`);
    const s = left + right;
    let m = idOf.get(s);
    if (m === undefined) {
      if (tokens.length >= ordinary) break;
      m = tokens.length;
      tokens.push(tokenStringToBytes(s)!);
      idOf.set(s, m);
    }
    out.push([a, b, m]);
  }
  if (tokens.length < ordinary) {
    throw new DataError(
      `vocab size ${vocabSize} needs ${ordinary - 256} merges but the training text yields only ${tokens.length - 256}; ` +
        `use --vocab ${tokens.length + 1} or less, or a larger corpus`,
    );
  }
  return { tokens, merges: out };
}

/** HuggingFace tokenizer.json for these tables. */
export function toTokenizerJson(tables: BpeTables): object {
  const vocab: Record<string, number> = {};
  tables.tokens.forEach((t, id) => (vocab[bytesToTokenString(t)] = id));
  const s = (id: number) => bytesToTokenString(tables.tokens[id]);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: tables.tokens.length, content: EOT_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tables.merges.map(([a, b]) => [s(a), s(b)]),
    },
  };
}

interface TokenizerJson {
  added_tokens?: Array<{ id: number; content: string }>;
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
}

/** Merge pairs of a HuggingFace BPE tokenizer.json (merges written as "a b" or ["a", "b"]). */
export function mergesOfTokenizerJson(json: unknown, file: string): Array<[string, string]> {
  const m = (json as TokenizerJson).model;
  if (!m || m.type !== 'BPE' || !Array.isArray(m.merges)) throw new DataError(`${file} is not a HuggingFace BPE tokenizer.json (no model.merges); delete it to retrain`);
  return m.merges.map((x) => {
    if (Array.isArray(x)) return [x[0], x[1]];
    const sp = x.indexOf(' ');
    return [x.slice(0, sp), x.slice(sp + 1)];
  });
}

export function saveTokenizer(tables: BpeTables, file: string): void {
  writeFileAtomic(file, JSON.stringify(toTokenizerJson(tables)));
}

/** Loads a tokenizer written by saveTokenizer, checking that its ids are laid out as this module expects. */
export function loadTokenizer(file: string): BpeTokenizer {
  let json: TokenizerJson;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as TokenizerJson;
  } catch (e) {
    throw new DataError(`cannot read tokenizer ${file}: ${(e as Error).message}; delete it to retrain`);
  }
  const merges = mergesOfTokenizerJson(json, file);
  const vocab = json.model?.vocab ?? {};
  const eot = json.added_tokens?.find((t) => t.content === EOT_TOKEN);
  const n = Object.keys(vocab).length;
  if (!eot || eot.id !== n) throw new DataError(`${file}: expected ${EOT_TOKEN} as the last id (${n}); delete it to retrain`);
  const tables = tablesFromMerges(merges, n + 1);
  tables.tokens.forEach((t, id) => {
    if (vocab[bytesToTokenString(t)] !== id) throw new DataError(`${file}: token ids are not in merge order; delete it to retrain`);
  });
  return new BpeTokenizer(tables);
}
