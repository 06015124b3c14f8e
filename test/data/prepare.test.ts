// End to end on a small WikiText fixture: corpus, tokenizer of the exact size, token caches; a second call
// reuses everything and returns the same ids; the streams decode back to the documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { splitDocuments } from '../../lib/data/documents';
import { describeDataset, prepareDataset } from '../../lib/data/prepare';
import { EOT_TOKEN } from '../../lib/data/bpe';
import { fixtureParagraphs, removeDir, tempDir, wikiArticle, writeWikiText } from './helpers';

test('prepareDataset builds once, then reloads the same corpus, tokenizer and ids', async () => {
  const src = tempDir('wt');
  const root = tempDir('root');
  try {
    const arts = (salt: string, n: number) => Array.from({ length: n }, (_, i) => wikiArticle(`${salt} ${i}`, fixtureParagraphs(4, `${salt}${i}`)));
    writeWikiText(src, 'tokens', { train: arts('train', 8), val: arts('val', 2), test: arts('test', 2) });
    const spec = `wikitext2:${src}`;
    const before = await describeDataset(spec, { vocabSize: 300, root });
    assert.equal(before.corpus, 'missing');
    assert.match(before.buildCommand ?? '', /mla data build --data wikitext2:.* --vocab 300/);

    const a = await prepareDataset(spec, { vocabSize: 300, root });
    assert.deepEqual(a.built, { corpus: true, tokenizer: true, tokens: true });
    assert.equal(a.vocabSize, 300);
    assert.equal(a.eotId, 299);
    assert.ok(a.splits.train instanceof Uint16Array);
    assert.match(a.tokenizerPath, new RegExp(`tokenizers/wikitext2-${a.corpusHash.slice(0, 8)}-v300\\.json$`));
    for (const k of ['train', 'val', 'test'] as const) {
      const docs = splitDocuments(fs.readFileSync(a.corpus.files[k], 'utf8'));
      const stream = a.splits[k];
      assert.equal(stream[stream.length - 1], a.eotId, 'each document ends with end-of-text');
      assert.equal(stream.filter((id) => id === a.eotId).length, docs.length);
      assert.equal(a.tokenizer.decode(stream), docs.map((d) => d + EOT_TOKEN).join(''));
    }

    const b = await prepareDataset(spec, { vocabSize: 300, root });
    assert.deepEqual(b.built, { corpus: false, tokenizer: false, tokens: false });
    assert.equal(b.corpusHash, a.corpusHash);
    assert.deepEqual(b.splits.val, a.splits.val);
    assert.deepEqual(b.tokenCounts, a.tokenCounts);
    const after = await describeDataset(spec, { vocabSize: 300, root });
    assert.equal(after.tokens, 'ok');
    assert.equal(after.buildCommand, undefined);
    assert.equal(after.splits?.train.tokens, a.tokenCounts.train);

    // Another size reuses the corpus and the base training run.
    const c = await prepareDataset(spec, { vocabSize: 280, root });
    assert.deepEqual(c.built, { corpus: false, tokenizer: true, tokens: true });
    assert.ok(c.tokenCounts.train > a.tokenCounts.train, 'fewer merges, more tokens');
  } finally {
    removeDir(src);
    removeDir(root);
  }
});
