// Document-level split: deterministic, seeded, roughly 90/5/5, and the built embedded corpus keeps every
// document in exactly one split and is reused or rebuilt as its manifest says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildCorpus, ensureCorpus, inspectCorpus } from '../../lib/data/corpus';
import { splitDocuments } from '../../lib/data/documents';
import { embeddedDocuments } from '../../lib/data/embedded';
import { parseDataSpec } from '../../lib/data/spec';
import { SPLITS, splitOf } from '../../lib/data/split';
import { removeDir, tempDir } from './helpers';

test('splitOf is a function of (doc id, seed) and near 90/5/5 over many ids', () => {
  const ids = Array.from({ length: 20000 }, (_, i) => `doc-${i}`);
  const a = ids.map((id) => splitOf(id, 3));
  assert.deepEqual(ids.map((id) => splitOf(id, 3)), a);
  const other = ids.map((id) => splitOf(id, 4));
  assert.ok(other.some((s, i) => s !== a[i]), 'another seed moves some documents');
  const frac = (k: string) => a.filter((s) => s === k).length / ids.length;
  assert.ok(Math.abs(frac('train') - 0.9) < 0.01, `train fraction ${frac('train')}`);
  assert.ok(Math.abs(frac('val') - 0.05) < 0.01, `val fraction ${frac('val')}`);
  assert.ok(Math.abs(frac('test') - 0.05) < 0.01, `test fraction ${frac('test')}`);
});

test('embedded corpus: every document in exactly one split, files match the manifest, reuse and rebuild', async () => {
  const root = tempDir('corpus');
  try {
    const spec = parseDataSpec('embedded');
    const docs = embeddedDocuments();
    assert.ok(docs.some((d) => d.id.startsWith('brown/')) && docs.some((d) => d.id.startsWith('nlp-corpus/')));
    assert.equal(new Set(docs.map((d) => d.id)).size, docs.length, 'ids are unique');

    const corpus = await buildCorpus(spec, root);
    const texts = Object.fromEntries(SPLITS.map((k) => [k, splitDocuments(fs.readFileSync(corpus.files[k], 'utf8'))]));
    for (const k of SPLITS) {
      assert.equal(texts[k].length, corpus.manifest.splits[k].documents, `${k} document count`);
      assert.deepEqual(texts[k], docs.filter((d) => d.split === k).map((d) => d.text), `${k} holds exactly its documents, in order`);
      assert.ok(corpus.manifest.splits[k].documents > 0);
    }
    const total = SPLITS.reduce((s, k) => s + texts[k].length, 0);
    assert.equal(total, docs.length, 'no document lost or duplicated');
    const train = new Set(texts.train);
    assert.ok(!texts.val.some((d) => train.has(d)) && !texts.test.some((d) => train.has(d)), 'no validation or test document is in train');
    assert.ok(corpus.manifest.splits.train.documents / total > 0.85);

    // Reused while intact: the manifest is not rewritten.
    const mtime = fs.statSync(path.join(corpus.dir, 'manifest.json')).mtimeMs;
    const again = await ensureCorpus(spec, root);
    assert.equal(again.corpusHash, corpus.corpusHash);
    assert.equal(fs.statSync(path.join(corpus.dir, 'manifest.json')).mtimeMs, mtime);

    // An edited file (same size) is caught by its hash, and the rebuild reproduces the original bytes.
    const val = fs.readFileSync(corpus.files.val, 'utf8');
    fs.writeFileSync(corpus.files.val, val.replace(/[a-z]/, 'Q'));
    fs.utimesSync(corpus.files.val, new Date(), new Date(Date.now() + 5000));
    const st = await inspectCorpus(spec, root);
    assert.equal(st.state, 'stale');
    const rebuilt = await ensureCorpus(spec, root);
    assert.equal(rebuilt.corpusHash, corpus.corpusHash, 'the build is deterministic');
    assert.equal(fs.readFileSync(rebuilt.files.val, 'utf8'), val);
  } finally {
    removeDir(root);
  }
});
