// Byte-level BPE: exact vocabulary size, exact round trip on arbitrary text, greedy-prefix property, and the
// saved file read identically by HuggingFace's own tokenizer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpeTokenizer, EOT_TOKEN, loadTokenizer, saveTokenizer, tablesFromMerges } from '../../lib/data/bpe';
import { readBaseMerges, trainBaseTokenizer } from '../../lib/data/bpe-train';
import { BYTE_TO_CHAR, pretokenize } from '../../lib/data/byte-level';
import { readBrownDocuments } from '../../lib/data/brown';
import { DataError } from '../../lib/data/errors';
import { Rng } from '../../lib/data/prng';
import { removeDir, tempDir } from './helpers';

let dir = '';
let merges: Array<[string, string]> = [];
let sample = '';

before(() => {
  dir = tempDir('bpe');
  sample = readBrownDocuments().slice(0, 4).map((d) => d.text).join('\n\n') + '\n';
  fs.writeFileSync(path.join(dir, 'train.txt'), sample);
  trainBaseTokenizer([path.join(dir, 'train.txt')], path.join(dir, 'base.json'));
  merges = readBaseMerges(path.join(dir, 'base.json'));
});
after(() => removeDir(dir));

const TRICKY = [
  '',
  'Hello, world!',
  '  leading and trailing spaces   ',
  'tabs\t\tand\nnew\n\n\nlines\r\n',
  "it's, they're, we'll — 'quoted' and \"double\"",
  'naïve café Ünïcödé façade',
  '日本語のテキストと中文',
  'emoji 🎉👍🏽 and a family 👨‍👩‍👧',
  'combining e\u0301 and zero\u200bwidth, nbsp\u00a0here',
  'digits 1234567890 3.14159 1e-9',
  '\u0000 control \u0007 chars \u001f',
  EOT_TOKEN,
];

test('exact vocabulary size for any size ≥ 257, ids in range, end-of-text last', () => {
  for (const v of [257, 300, 512]) {
    const t = new BpeTokenizer(tablesFromMerges(merges, v));
    assert.equal(t.vocabSize, v);
    assert.equal(t.eotId, v - 1);
    const ids = t.encode(sample.slice(0, 5000));
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < v - 1), `ordinary ids < ${v - 1}`);
    assert.equal(t.decode([t.eotId]), EOT_TOKEN);
  }
  assert.throws(() => tablesFromMerges(merges, 256), (e: unknown) => e instanceof DataError && /at least 257/.test(e.message));
  assert.throws(() => tablesFromMerges(merges, 1_000_000), (e: unknown) => e instanceof DataError && /needs .* merges but the training text yields only/.test(e.message));
});

test('more merges compress better; smaller vocabularies are prefixes of larger ones (greedy BPE)', () => {
  const small = tablesFromMerges(merges, 300);
  const large = tablesFromMerges(merges, 600);
  assert.deepEqual(large.merges.slice(0, small.merges.length), small.merges);
  const text = sample.slice(0, 20000);
  const nBytes = Buffer.byteLength(text);
  const n300 = new BpeTokenizer(small).encode(text).length;
  const n600 = new BpeTokenizer(large).encode(text).length;
  assert.ok(n300 < nBytes && n600 < n300, `bytes ${nBytes} > tokens@300 ${n300} > tokens@600 ${n600}`);
});

test('decode(encode(text)) === text for tricky and random well-formed strings', () => {
  const t = new BpeTokenizer(tablesFromMerges(merges, 300));
  for (const s of TRICKY) assert.equal(t.decode(t.encode(s)), s, JSON.stringify(s));
  assert.deepEqual(t.encode(EOT_TOKEN).includes(t.eotId), false, 'the eot string in text is plain text');
  // Random strings over ASCII, whitespace, Latin-1, CJK, astral symbols (surrogate pairs).
  const rng = new Rng(123);
  const ranges: Array<[number, number]> = [[0x20, 0x7e], [0x09, 0x0d], [0xa0, 0xff], [0x4e00, 0x4fff], [0x1f300, 0x1f64f], [0x0300, 0x036f]];
  for (let k = 0; k < 200; k++) {
    let s = '';
    const len = rng.int(40);
    for (let i = 0; i < len; i++) {
      const [lo, hi] = ranges[rng.int(ranges.length)];
      s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
    }
    assert.equal(t.decode(t.encode(s)), s, JSON.stringify(s));
  }
});

test('pre-tokenization covers the text exactly', () => {
  for (const s of TRICKY) assert.equal(pretokenize(s).join(''), s);
  assert.deepEqual(pretokenize("I'm  here"), ['I', "'m", ' ', ' here']);
});

test('saved file reloads identically and HuggingFace reads it the same way', async () => {
  const tables = tablesFromMerges(merges, 300);
  const file = path.join(dir, 'v300.json');
  saveTokenizer(tables, file);
  const ours = loadTokenizer(file);
  assert.equal(ours.vocabSize, 300);
  const mine = new BpeTokenizer(tables);
  const hf = require('tokenizers') as {
    Tokenizer: { fromFile(f: string): { getVocabSize(withAdded: boolean): number; encode(s: string): Promise<{ getIds(): number[] }>; decode(ids: number[], skip: boolean): Promise<string>; tokenToId(t: string): number | null } };
    byteLevelAlphabet(): string[];
  };
  assert.deepEqual([...hf.byteLevelAlphabet()].sort(), [...BYTE_TO_CHAR].sort(), 'same byte stand-in characters');
  const native = hf.Tokenizer.fromFile(file);
  assert.equal(native.getVocabSize(true), 300);
  assert.equal(native.tokenToId(EOT_TOKEN), ours.eotId);
  const texts = [...TRICKY.filter((s) => s !== EOT_TOKEN && s !== ''), sample.slice(0, 3000)];
  for (const s of texts) {
    const ids = ours.encode(s);
    assert.deepEqual(mine.encode(s), ids);
    assert.deepEqual((await native.encode(s)).getIds(), ids, `HuggingFace ids for ${JSON.stringify(s.slice(0, 40))}`);
    assert.equal(await native.decode(ids, false), s);
  }
});
