// `mla data build|info --json` print one clean JSON document on stdout (progress and the native trainer's
// output stay off it), with the sizes the library reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fixtureParagraphs, removeDir, tempDir, wikiArticle, writeWikiText } from './helpers';

const MAIN = path.resolve(__dirname, '..', '..', 'cli', 'main.js');

function mla(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('data build --json then data info --json on a WikiText fixture', () => {
  const src = tempDir('wt');
  const root = tempDir('root');
  try {
    const arts = (salt: string, n: number) => Array.from({ length: n }, (_, i) => wikiArticle(`${salt} ${i}`, fixtureParagraphs(4, `${salt}${i}`)));
    writeWikiText(src, 'tokens', { train: arts('train', 6), val: arts('val', 2), test: arts('test', 2) });
    const spec = `wikitext2:${src}`;
    const before = mla(['data', 'info', '--data', spec, '--vocab', '290', '--root', root, '--json']);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(JSON.parse(before.stdout).corpus, 'missing');

    const built = mla(['data', 'build', '--data', spec, '--vocab', '290', '--root', root, '--json']);
    assert.equal(built.code, 0, built.stderr);
    const b = JSON.parse(built.stdout);
    assert.equal(b.vocabSize, 290);
    assert.equal(b.splits.val.documents, 2);
    assert.ok(b.splits.train.tokens > 0 && b.unigramValPerplexity > 1);
    assert.match(built.stderr, /training byte-level BPE/);

    const info = JSON.parse(mla(['data', 'info', '--data', spec, '--vocab', '290', '--root', root, '--json']).stdout);
    assert.equal(info.tokens, 'ok');
    assert.equal(info.corpusHash, b.corpusHash);
    assert.equal(info.splits.train.tokens, b.splits.train.tokens);

    const bad = mla(['data', 'build', '--data', `wikitext2:${path.join(src, 'absent')}`, '--root', root]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^mla: wikitext2: folder .*absent does not exist/);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, 'no stack trace for a DataError');
    assert.equal(mla(['data', 'frobnicate']).code, 2);
  } finally {
    removeDir(src);
    removeDir(root);
  }
});
