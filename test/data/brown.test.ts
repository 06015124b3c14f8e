// Brown corpus tags stripped back to plain text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { brownDir, brownToText, detokenize, readBrownDocuments, stripBrownTag } from '../../lib/data/brown';

test('the first sentence of ca01 reads as plain English', () => {
  const raw = fs.readFileSync(path.join(brownDir(), 'ca01'), 'utf8');
  const firstLine = raw.split('\n').find((l) => l.trim().length > 0)!;
  assert.match(firstLine, /The\/at Fulton\/np-tl/, 'the package still ships Form C (tagged)');
  assert.equal(
    brownToText(firstLine),
    'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced "no evidence" that any irregularities took place.',
  );
});

test('tags follow the last slash; words may contain slashes', () => {
  assert.equal(stripBrownTag('1/2/cd'), '1/2');
  assert.equal(stripBrownTag("Atlanta's/np$"), "Atlanta's");
  assert.equal(stripBrownTag('./.-hl'), '.');
  assert.equal(stripBrownTag('AAb//nn'), 'AAb/');
});

test('detokenisation: punctuation, brackets, quotes, abbreviations, inch marks', () => {
  assert.equal(detokenize(['He', 'said', ',', '``', 'No', ',', 'thanks', "''", '.']), 'He said, "No, thanks".');
  assert.equal(detokenize(['a', '(', 'b', ')', 'c', ';', 'd', '?']), 'a (b) c; d?');
  assert.equal(detokenize(['Ivan', 'Allen', 'Jr.', '.']), 'Ivan Allen Jr.');
  assert.equal(detokenize(['a', "1/8''", "''", 'rod']), 'a 1/8" rod');
  assert.equal(detokenize(['it', 'was', "'", 'odd', "'", 'then']), "it was 'odd' then");
});

test('headlines become their own line; paragraphs are lines; no tags remain', () => {
  const raw = '\n\n\tMerger/nn-hl proposed/vbn-hl\nHowever/rb ,/, it/pps is/bez ./.\nSo/rb it/pps goes/vbz ./.\n\n\n\tNext/ap paragraph/nn ./.\n';
  assert.equal(brownToText(raw), 'Merger proposed\nHowever, it is. So it goes.\nNext paragraph.');
  const docs = readBrownDocuments();
  assert.equal(docs.length, 500);
  for (const d of docs.slice(0, 50)) assert.doesNotMatch(d.text, /\/(at|nn|vbd|in|np|jj)\b/, `${d.id} has no tags left`);
});
