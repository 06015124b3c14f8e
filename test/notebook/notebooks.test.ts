// The notebooks as files: each runs on the project's kernel, declares what it produces for the headless runner,
// and is kept without outputs (scripts/notebooks/strip-outputs.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIR = path.join(ROOT, 'notebooks');
const notebooks = fs.readdirSync(DIR).filter((f) => f.endsWith('.ipynb')).sort();
const { strip } = require(path.join(ROOT, 'scripts', 'notebooks', 'strip-outputs.js')) as { strip(nb: unknown): boolean };

interface Notebook {
  cells: { cell_type: string; source: string | string[]; outputs?: unknown[]; execution_count?: number | null }[];
  metadata: { kernelspec?: { name?: string }; mla?: { produces?: unknown } };
}

test('notebook 01 is there', () => {
  assert.ok(notebooks.includes('01-kv-cache.ipynb'));
});

for (const name of notebooks) {
  test(`${name}: tslab kernel, declared outputs, no saved outputs, imports the package`, () => {
    const nb: Notebook = JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8'));
    assert.equal(nb.metadata.kernelspec?.name, 'tslab');
    const produces = nb.metadata.mla?.produces;
    assert.ok(Array.isArray(produces), 'metadata.mla.produces must list the files the notebook writes');
    for (const p of produces as unknown[]) {
      assert.ok(typeof p === 'string' && /^(figures|data\/results)\/[\w.-]+\.(png|svg|html|csv|json)$/.test(p), `odd output path ${String(p)}`);
    }
    for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
      assert.deepEqual(cell.outputs ?? [], [], 'saved with outputs: run node scripts/notebooks/strip-outputs.js');
      assert.equal(cell.execution_count ?? null, null);
      const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      // Relative imports of lib/ bypass the build and tslab's module handling: use the package.
      assert.doesNotMatch(src, /from '\.{1,2}\//, 'import the library as mla-lab, not by a relative path');
    }
  });
}

test('strip clears outputs, counts and timing, and says whether it changed anything', () => {
  const nb = {
    cells: [
      { cell_type: 'markdown', source: 'x', metadata: {} },
      { cell_type: 'code', source: '1', outputs: [{ output_type: 'stream' }], execution_count: 3, metadata: { execution: { t: 1 }, keep: true } },
    ],
  };
  assert.equal(strip(nb), true);
  assert.deepEqual(nb.cells[1], { cell_type: 'code', source: '1', outputs: [], execution_count: null, metadata: { keep: true } });
  assert.equal(strip(nb), false);
});

test('strip gives every cell of an nbformat 4.5 notebook a unique, stable id and keeps those it has', () => {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    cells: [
      { cell_type: 'markdown', source: 'x', metadata: {} },
      { cell_type: 'code', id: 'c00', source: '1', outputs: [], execution_count: null, metadata: {} },
      { cell_type: 'code', source: '2', outputs: [], execution_count: null, metadata: {} },
      { cell_type: 'markdown', id: 'intro', source: 'y', metadata: {} },
    ],
  };
  assert.equal(strip(nb), true);
  assert.deepEqual(nb.cells.map((c) => (c as { id?: string }).id), ['c00-1', 'c00', 'c02', 'intro']);
  assert.equal(strip(nb), false, 'a second strip changes nothing');
  const old = { nbformat: 4, nbformat_minor: 4, cells: [{ cell_type: 'markdown', source: 'x', metadata: {} }] };
  assert.equal(strip(old), false, 'before 4.5 cells have no ids');
  assert.equal((old.cells[0] as { id?: string }).id, undefined);
});

for (const name of notebooks) {
  test(`${name}: every cell has a unique id (nbformat 4.5)`, () => {
    const nb = JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8')) as { cells: { id?: string }[] };
    const ids = nb.cells.map((c) => c.id);
    assert.ok(ids.every((id) => typeof id === 'string' && id !== ''), `a cell without an id: run node scripts/notebooks/strip-outputs.js`);
    assert.equal(new Set(ids).size, ids.length, 'duplicate cell ids');
  });
}

test('the cells scripts/notebooks/browser-check.js drives are in its notebook, each found once', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const check = require(path.join(ROOT, 'scripts', 'notebooks', 'browser-check.js')) as { NOTEBOOK: string; FIGURE_CELL: string[]; TABLE_CELL: string[] };
  const nb: Notebook = JSON.parse(fs.readFileSync(path.join(DIR, check.NOTEBOOK), 'utf8'));
  const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
  for (const marker of [check.FIGURE_CELL, check.TABLE_CELL]) {
    assert.equal(code.filter((src) => marker.every((m) => src.includes(m))).length, 1, `one code cell of ${check.NOTEBOOK} holds ${marker.join(' and ')}`);
  }
});
