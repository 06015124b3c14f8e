// The public API (lib/index.ts, what notebooks import as 'mla-lab') is exported by name: no `export *`, none
// of the internals its header keeps out (WGSL builders, kernel registration and the matmul policy's switches,
// Chromium helpers, fault hooks, atomic-write primitives), and every name a notebook imports is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as api from '../lib/index';

const ROOT = path.resolve(__dirname, '..', '..');

test('lib/index.ts re-exports by name only', () => {
  const text = fs.readFileSync(path.join(ROOT, 'lib', 'index.ts'), 'utf8');
  assert.deepEqual(text.split('\n').filter((l) => /\bexport\s*\*/.test(l)), []);
});

test('no internal module leaks through the public API', () => {
  const internal = [
    'backend/webgpu/kernels/matmul', 'backend/webgpu/kernels/matmul-kernel', 'backend/webgpu/kernels/matmul-pipelined',
    'backend/webgpu/kernels/flash-attention-wgsl', 'backend/webgpu/kernels/layer-norm-wgsl', 'backend/webgpu/dispatch',
    'backend/webgpu/register', 'backend/webgpu/program', 'backend/cpu/native-kernels', 'backend/cpu/kernel-override',
    'notebook/browser', 'checkpoint/faults', 'checkpoint/atomic',
  ];
  const leaked: string[] = [];
  for (const m of internal) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const names = Object.keys(require(path.join(ROOT, 'dist', 'lib', m)) as object);
    assert.ok(names.length > 0, `${m} exports something`);
    for (const n of names) if (n in api) leaked.push(`${n} (lib/${m}.ts)`);
  }
  assert.deepEqual(leaked, []);
  assert.deepEqual(Object.keys(api).filter((n) => /wgsl/i.test(n)), [], 'no WGSL source or builder');
});

test("every name the notebooks import from 'mla-lab' is exported", () => {
  const dir = path.join(ROOT, 'notebooks');
  const missing: string[] = [];
  let seen = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.ipynb'))) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cells: { source: string[] | string }[] };
    for (const cell of nb.cells) {
      const src = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*'mla-lab'/g)) {
        for (const spec of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
          if (spec.startsWith('type ')) continue; // types leave nothing at run time
          const name = spec.split(/\s+as\s+/)[0];
          seen++;
          if (!(name in api)) missing.push(`${f}: ${name}`);
        }
      }
    }
  }
  assert.ok(seen > 10, `the notebooks import from 'mla-lab' (${seen} names)`);
  assert.deepEqual(missing, []);
});
