// The compute layer's import rule, read from the sources: model, attention, training and decoding code call the
// fused ops of lib/ops and import nothing under lib/backend; lib/ops imports no backend (backends import the
// ops' names and register kernels under them); and the CPU and WebGPU backends are leaves that nothing outside
// lib/backend imports (the CLI and the rest of lib reach them through lib/backend's index or init.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const LIB = path.join(ROOT, 'lib');

/** Every .ts file under `dir` (relative to the repository root), recursively. */
function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

/** The module specifiers a file imports: static imports and re-exports, import() and require(). */
export function importSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1'); // comments off
  const found: string[] = [];
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

/** The repository-relative module (no extension) a relative specifier of `file` resolves to; null for packages. */
function resolved(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec)).split(path.sep).join('/');
}

/** "file imports target" for each import of the files in `dirs` whose target `bad` rejects. */
function violations(dirs: string[], bad: (target: string | null, spec: string) => boolean): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const file of sources(dir)) {
      for (const spec of importSpecifiers(fs.readFileSync(path.join(ROOT, file), 'utf8'))) {
        if (bad(resolved(file, spec), spec)) out.push(`${file} imports '${spec}'`);
      }
    }
  }
  return out;
}

const underBackend = (t: string | null) => t !== null && (t === 'lib/backend' || t.startsWith('lib/backend/'));

test('the import parser sees static imports, re-exports, import() and require(), and not comments', () => {
  const text = [
    "import * as tf from '@tensorflow/tfjs-core';",
    "import { a } from '../backend/x';",
    "export { b } from \"../ops\";",
    "import '../side-effect';",
    "const c = require('../backend');",
    "const d = await import('../backend/webgpu/init');",
    "// import { e } from '../backend/commented';",
    "/* from '../backend/block' */",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text).sort(), ['../backend', '../backend/webgpu/init', '../backend/x', '../ops', '../side-effect', '@tensorflow/tfjs-core'].sort());
});

test('lib/attention, lib/model, lib/train and lib/generate import nothing under lib/backend', () => {
  const dirs = ['lib/attention', 'lib/model', 'lib/train', 'lib/generate'];
  for (const d of dirs) assert.ok(sources(d).length > 0, `${d} has sources`);
  assert.deepEqual(violations(dirs, underBackend), []);
});

test('lib/ops imports no backend: only its own files and tfjs-core', () => {
  assert.ok(sources('lib/ops').length > 0);
  assert.deepEqual(violations(['lib/ops'], underBackend), []);
  const outside = violations(['lib/ops'], (t, spec) => (t === null ? spec !== '@tensorflow/tfjs-core' : !t.startsWith('lib/ops/')));
  assert.deepEqual(outside, []);
});

test('lib/backend/cpu and lib/backend/webgpu are leaves: nothing in lib or cli outside lib/backend imports them', () => {
  const dirs = fs.readdirSync(LIB, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'backend').map((e) => `lib/${e.name}`);
  const top = fs.readdirSync(LIB).filter((f) => f.endsWith('.ts'));
  const leaf = (t: string | null) => t !== null && (t.startsWith('lib/backend/cpu') || t.startsWith('lib/backend/webgpu'));
  const fromTop = top.flatMap((f) => importSpecifiers(fs.readFileSync(path.join(LIB, f), 'utf8')).filter((s) => leaf(resolved(`lib/${f}`, s))).map((s) => `lib/${f} imports '${s}'`));
  assert.deepEqual([...violations([...dirs, 'cli'], leaf), ...fromTop], []);
});
