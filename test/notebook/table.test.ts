import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as aq from 'arquero';
import { recordingDisplay } from '../../lib/notebook/display';
import { SMOKE_MARK } from '../../lib/notebook/plotly';
import { showTable, shownColumns, tableFile } from '../../lib/notebook/table';

const headers = (html: string) => [...html.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
const rowCount = (html: string) => (html.match(/<tr/g) ?? []).length - 1;

/** Runs `fn` with $MLA_SCALE set to `name` (unset for undefined), restoring it afterwards. */
function atScale<T>(name: string | undefined, fn: () => T): T {
  const before = process.env.MLA_SCALE;
  if (name === undefined) delete process.env.MLA_SCALE;
  else process.env.MLA_SCALE = name;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.MLA_SCALE;
    else process.env.MLA_SCALE = before;
  }
}

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
  assert.match(html, /30 rows, first 5 shown/);
  assert.equal(rowCount(html), 5);
});

test('every row up to 100 is shown, and a cut beyond that is said', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const display = recordingDisplay(true);
  showTable(aq.table({ length: Array.from({ length: 30 }, (_, i) => i) }), { name: 'thirty', root, display });
  showTable(aq.table({ length: Array.from({ length: 150 }, (_, i) => i) }), { name: 'many', root, display });
  const [thirty, many] = display.writes.map((w) => w.value);
  assert.equal(rowCount(thirty), 30);
  assert.match(thirty, /30 rows;/);
  assert.doesNotMatch(thirty, /shown/);
  assert.equal(rowCount(many), 100);
  assert.match(many, /150 rows, first 100 shown/);
});

// The shape of the results tables of notebooks 02–04: the perplexities come tenth and eleventh.
const WIDE = [
  'model', 'attention', 'positions', 'params_m', 'kv_per_token_per_layer', 'kv_per_token_all_layers', 'kv_cache_mode',
  'seeds', 'tokens', 'val_ppl', 'val_ppl_sd', 'train_ppl', 'tokens_per_s', 'trained_on', 'study_train_ppl', 'study_kv_all_layers',
];
const wideTable = () => aq.table(Object.fromEntries(WIDE.map((c, i) => [c, [c === 'model' ? 'small-mha-decoupled-rope' : i, i + 0.5]])));

test('a wide table shows the first column, the key columns, then the rest up to 10; the CSV keeps every column', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const display = recordingDisplay(true);
  showTable(wideTable(), { name: 'wide', root, display });
  const html = display.writes[0].value;
  assert.deepEqual(headers(html), [
    'model', 'val_ppl', 'val_ppl_sd', 'train_ppl', 'study_train_ppl', 'attention', 'positions', 'params_m', 'kv_per_token_per_layer', 'kv_per_token_all_layers',
  ]);
  assert.match(html, /6 more columns in the file \(kv_cache_mode, seeds, tokens, tokens_per_s, trained_on, study_kv_all_layers\)/);
  // The model name stays on one line; the table scrolls sideways instead of squeezing it.
  assert.match(html, /<td style="[^"]*white-space:nowrap;[^"]*">small-mha-decoupled-rope<\/td>/);
  assert.match(html, /overflow-x:auto/);
  assert.equal(fs.readFileSync(tableFile('wide', root), 'utf8').split('\n')[0], WIDE.join(','));
});

test('columns picks exactly what is shown; keyColumns and maxColumns change the default; bad ones are refused', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const display = recordingDisplay(false);
  showTable(wideTable(), { name: 'picked', root, display, columns: ['model', 'val_ppl', 'seeds'] });
  assert.match(display.writes[0].value, /^\|model\|val_ppl\|seeds\|$/m);
  assert.match(display.writes[0].value, /13 more columns in the file/);
  assert.deepEqual(shownColumns(WIDE, { keyColumns: ['seeds', 'val_ppl'], maxColumns: 4 }), ['model', 'seeds', 'val_ppl', 'attention']);
  // A table that fits keeps its own order.
  assert.deepEqual(shownColumns(['model', 'layers', 'val_ppl'], {}), ['model', 'layers', 'val_ppl']);
  assert.throws(() => shownColumns(WIDE, { columns: ['model', 'val_pl'] }, 'x'), /table 'x' has no column\(s\) \["val_pl"\] to show: pick from model, /);
  assert.throws(() => shownColumns(WIDE, { maxColumns: 0 }), /maxColumns 0 must be a whole number/);
});

test('at smoke scale the note under a table says it proves nothing, unless smokeMark is false', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-table-'));
  const notes = ['smoke', 'small'].map((s) =>
    atScale(s, () => {
      const display = recordingDisplay(true);
      showTable(aq.table({ a: [1] }), { name: `note-${s}`, root, display });
      return display.writes[0].value;
    }),
  );
  assert.ok(notes[0].includes(SMOKE_MARK));
  assert.ok(!notes[1].includes(SMOKE_MARK));
  const display = recordingDisplay(true);
  atScale('smoke', () => showTable(aq.table({ a: [1] }), { name: 'unmarked', root, display, smokeMark: false }));
  assert.ok(!display.writes[0].value.includes(SMOKE_MARK));
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
