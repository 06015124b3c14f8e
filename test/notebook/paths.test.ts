// Where results go: the scale decides, so a smoke run from Jupyter leaves the committed results alone just as
// the headless runner does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as aq from 'arquero';
import { chromiumPath, closeBrowser } from '../../lib/notebook/browser';
import { recordingDisplay } from '../../lib/notebook/display';
import { outputRoot, projectRoot } from '../../lib/notebook/paths';
import { figureFiles, plot } from '../../lib/notebook/plot';
import { showTable, tableFile } from '../../lib/notebook/table';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const skip = fs.existsSync(chromiumPath()) ? false : `no Chromium at ${chromiumPath()} (apt-get install chromium, or set MLA_CHROMIUM)`;
after(() => closeBrowser());

test('outputs go to build/smoke/ at smoke scale, else to the project root; MLA_ROOT overrides both', () => {
  const root = projectRoot(ROOT, {});
  assert.equal(root, ROOT);
  assert.equal(outputRoot({ MLA_SCALE: 'smoke' }, ROOT), path.join(ROOT, 'build', 'smoke'));
  // From the notebooks' folder, as a kernel runs.
  assert.equal(outputRoot({ MLA_SCALE: ' smoke ' }, path.join(ROOT, 'notebooks')), path.join(ROOT, 'build', 'smoke'));
  // Every other name, known or not yet, writes to the committed folders (scale() is what refuses unknown names).
  for (const env of [{}, { MLA_SCALE: 'small' }, { MLA_SCALE: 'gpu' }, { MLA_SCALE: 'paper' }, { MLA_SCALE: 'huge' }]) {
    assert.equal(outputRoot(env, ROOT), ROOT, JSON.stringify(env));
  }
  assert.equal(outputRoot({ MLA_SCALE: 'smoke', MLA_ROOT: '/tmp/x' }, ROOT), '/tmp/x');
});

/** Name → sha256 of every file in the committed result folders. */
function committed(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of ['figures', path.join('data', 'results')]) {
    for (const f of fs.readdirSync(path.join(ROOT, dir)).sort()) {
      const file = path.join(ROOT, dir, f);
      if (fs.statSync(file).isFile()) out[path.join(dir, f)] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
  }
  return out;
}

test('a smoke run leaves the committed figures/ and data/results/ byte-identical', { skip, timeout: 120_000 }, async () => {
  const saved = { scale: process.env.MLA_SCALE, root: process.env.MLA_ROOT };
  const name = `smoke-check-${process.pid}`;
  const before = committed();
  process.env.MLA_SCALE = 'smoke';
  delete process.env.MLA_ROOT;
  try {
    // The names of committed files, as a notebook run interactively at smoke would write them.
    await plot({ data: [{ type: 'bar', x: ['a'], y: [1] }] }, { name, display: recordingDisplay(true) });
    showTable(aq.table({ a: [1] }), { name, display: recordingDisplay(true) });
    const smoke = path.join(ROOT, 'build', 'smoke');
    for (const file of [...Object.values(figureFiles(name)), tableFile(name)]) {
      assert.ok(file.startsWith(smoke + path.sep), `${file} is not under build/smoke/`);
      assert.ok(fs.statSync(file).size > 0);
      fs.rmSync(file);
    }
  } finally {
    for (const [key, value] of [['MLA_SCALE', saved.scale], ['MLA_ROOT', saved.root]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  assert.deepEqual(committed(), before);
});
