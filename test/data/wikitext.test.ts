// WikiText loader on small fixtures written to a temp folder: both layouts, article splitting at top-level
// headings only, and DataErrors that name the expected file and where to get it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../../lib/data/errors';
import { buildCorpus } from '../../lib/data/corpus';
import { splitDocuments } from '../../lib/data/documents';
import { parseDataSpec } from '../../lib/data/spec';
import { isArticleHeading, locateWikiText, readWikiTextArticles } from '../../lib/data/wikitext';
import { fixtureParagraphs, removeDir, tempDir, wikiArticle, writeWikiText } from './helpers';

async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

function throwsData(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `a DataError, got ${String(e)}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

async function rejectsData(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `a DataError, got ${String(e)}`);
    for (const pat of patterns) assert.match(e.message, pat);
    return true;
  });
}

test('headings: " = T = " starts an article, " = = S = = " does not', () => {
  assert.ok(isArticleHeading(' = Valkyria Chronicles III = '));
  assert.ok(!isArticleHeading(' = = Gameplay = = '));
  assert.ok(!isArticleHeading(' = = = Reception = = = '));
  assert.ok(!isArticleHeading(' The score was 2 = 2 . '));
});

test('tokenized layout: articles split at top-level headings, sections and markers kept', async () => {
  const dir = tempDir('wt');
  try {
    const a1 = wikiArticle('Alpha', ['Alpha is a 1 @,@ 000 @-@ year <unk> tale .', 'It sold well .', 'Critics liked it .']);
    const a2 = wikiArticle('Beta', ['Beta came second .', 'More text .']);
    writeWikiText(dir, 'tokens', { train: [a1, a2], val: [a1], test: [a2] });
    const w = locateWikiText('wikitext103', dir);
    assert.equal(w.layout, 'tokens');
    const docs = await collect(readWikiTextArticles(w.files.train, 'wikitext103'));
    assert.equal(docs.length, 2);
    assert.equal(docs[0], '= Alpha =\nAlpha is a 1 @,@ 000 @-@ year <unk> tale .\n= = History = =\nIt sold well .\nCritics liked it .');
    assert.ok(docs[1].startsWith('= Beta =\n'));
    assert.ok(docs.every((d) => !d.includes('\n\n')), 'no blank lines inside a document');
  } finally {
    removeDir(dir);
  }
});

test('raw layout, and files inside a wikitext-2-raw subfolder, are found', () => {
  const dir = tempDir('wt');
  try {
    const a = wikiArticle('Gamma', ['Plain text , no markers .', 'Second paragraph .']);
    writeWikiText(path.join(dir, 'wikitext-2-raw'), 'raw', { train: [a], val: [a], test: [a] });
    const w = locateWikiText('wikitext2', dir);
    assert.equal(w.layout, 'raw');
    assert.equal(w.files.val, path.join(dir, 'wikitext-2-raw', 'wiki.valid.raw'));
  } finally {
    removeDir(dir);
  }
});

test('missing folder or files: DataError names the expected files and the HuggingFace dataset', () => {
  const dir = tempDir('wt');
  try {
    throwsData(() => locateWikiText('wikitext103', path.join(dir, 'nope')), /does not exist/, /wiki\.train\.tokens/, /Salesforce\/wikitext/, /wikitext-103-v1/);
    throwsData(() => locateWikiText('wikitext103', dir), /no WikiText files/, new RegExp(`${dir}.*wiki\\.train\\.tokens`), /wikitext-103-v1/);
    const a = wikiArticle('Delta', ['Text .']);
    writeWikiText(dir, 'tokens', { train: [a], val: [a], test: [a] });
    fs.rmSync(path.join(dir, 'wiki.valid.tokens'));
    throwsData(() => locateWikiText('wikitext2', dir), /missing .*wiki\.valid\.tokens/, /wikitext-2-v1/);
    throwsData(() => parseDataSpec('wikitext103'), /names no folder/);
    throwsData(() => parseDataSpec('imagenet:/x'), /unknown data spec 'imagenet:\/x'/);
  } finally {
    removeDir(dir);
  }
});

test('malformed files: empty, Parquet, no headings, text before the first heading', async () => {
  const dir = tempDir('wt');
  try {
    const f = path.join(dir, 'wiki.train.tokens');
    fs.writeFileSync(f, '');
    await rejectsData(collect(readWikiTextArticles(f, 'wikitext103')), /is empty/, /wiki\.train\.tokens/);
    fs.writeFileSync(f, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 1)]));
    await rejectsData(collect(readWikiTextArticles(f, 'wikitext103')), /Parquet/);
    fs.writeFileSync(f, ' \n \n');
    await rejectsData(collect(readWikiTextArticles(f, 'wikitext103')), /no article headings/);
    fs.writeFileSync(f, ' some stray text \n = Title = \n body \n');
    await rejectsData(collect(readWikiTextArticles(f, 'wikitext103')), /wiki\.train\.tokens:1: text before the first article heading/);
  } finally {
    removeDir(dir);
  }
});

test('a WikiText corpus keeps the official splits, one document per article', async () => {
  const dir = tempDir('wt');
  const root = tempDir('root');
  try {
    const arts = (salt: string, n: number) => Array.from({ length: n }, (_, i) => wikiArticle(`${salt} ${i}`, fixtureParagraphs(3, salt)));
    writeWikiText(dir, 'tokens', { train: arts('tr', 5), val: arts('va', 2), test: arts('te', 3) });
    const c = await buildCorpus(parseDataSpec(`wikitext2:${dir}`), root);
    assert.deepEqual([c.manifest.splits.train.documents, c.manifest.splits.val.documents, c.manifest.splits.test.documents], [5, 2, 3]);
    const val = splitDocuments(fs.readFileSync(c.files.val, 'utf8'));
    assert.deepEqual(val.map((d) => d.split('\n')[0]), ['= va 0 =', '= va 1 =']);
  } finally {
    removeDir(dir);
    removeDir(root);
  }
});
