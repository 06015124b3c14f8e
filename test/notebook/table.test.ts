import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as aq from 'arquero';
import { recordingDisplay } from '../../lib/notebook/display';
import { showTable, tableFile } from '../../lib/notebook/table';

test('showTable writes every row to data/results/<name>.csv and shows a limited HTML table', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const rows = Array.from({ length: 30 }, (_, i) => ({ model: `m<${i}>`, kv: i * 1024, ratio: i / 3 }));
  const display = recordingDisplay(true);
  showTable(aq.from(rows), { name: 'kv-test', root, display, limit: 5, caption: 'a & b' });
  const file = tableFile('kv-test', root);
  assert.equal(file, path.join(root, 'data', 'results', 'kv-test.csv'));
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 31);
  assert.equal(lines[0], 'model,kv,ratio');
  // Full precision in the file, whatever the display rounds to.
  assert.ok(lines[2].endsWith(String(1 / 3)));
  assert.equal(display.writes.length, 1);
  const html = display.writes[0].value;
  assert.match(html, /<table/);
  assert.match(html, /a &amp; b/);
  assert.match(html, /30 rows \(first 5 shown\)/);
  assert.equal((html.match(/<tr/g) ?? []).length, 1 + 5);
});

test('showTable prints markdown outside a notebook', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const display = recordingDisplay(false);
  showTable(aq.table({ a: [1, 2] }), { name: 't', root, display });
  assert.equal(display.writes[0].kind, 'text');
  assert.match(display.writes[0].value, /\|a\|/);
});

test('bad names and non-tables are refused with the fix in the message', () => {
  const display = recordingDisplay(true);
  const root = os.tmpdir();
  for (const name of ['../escape', '.hidden', 'a/b', '']) {
    assert.throws(() => showTable(aq.table({ a: [1] }), { name, root, display }), (err: Error) => {
      assert.equal(err.name, 'DataError');
      assert.match(err.message, /not usable as a file name/);
      return true;
    });
  }
  assert.throws(() => showTable([{ a: 1 }] as never, { name: 'x', root, display }), /must be an Arquero table/);
});
