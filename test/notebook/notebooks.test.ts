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
