// `mla bench decode-ab` (lib/bench/decode-ab-summary.ts) on a committed decode-shaders.sh folder, the H100 A/B of
// 2026-12-07 whose summary.txt was written by hand from the same records: the numbers must come out the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { summarizeDecodeAb } from '../../lib/bench/decode-ab-summary';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIR = path.join(ROOT, 'data', 'bench', 'device', 'decode-shaders-2026-12-07-h100');

test('the H100 shader A/B: each variant per stage and context, its ratio to the base, the errors, the decode-check', () => {
  const s = summarizeDecodeAb(DIR, 'rows');
  assert.deepEqual(Object.keys(s.bases).sort(), ['abs-b1', 'abs-b16', 'abs-b64', 'full-b16', 'kv-b1', 'kv-b16']);
  assert.ok(Object.values(s.bases).every((b) => b === 'rows'));
  const cell = s.cells.find((c) => c.stage === 'abs-b16' && c.context === 32768)!;
  const by = Object.fromEntries(cell.variants.map((v) => [v.variant, v]));
  // summary.txt: abs-b16 32768 rows 25.347 (18.329), auto 16.235 (15.244), auto/rows 0.64, auto ÷ floor 6.80, floor 2.388.
  assert.equal(by.rows.ms.toFixed(3), '25.347');
  assert.equal(by.auto.ms.toFixed(3), '16.235');
  assert.equal(by.rows.attentionMs.toFixed(3), '18.329');
  assert.equal(by.auto.attentionMs.toFixed(3), '15.244');
  assert.equal(by.auto.overBase!.toFixed(2), '0.64');
  assert.equal(by.rows.overBase, 1);
  assert.equal(by.auto.ratioToFloor.toFixed(2), '6.80');
  assert.equal(cell.floorMs.toFixed(3), '2.388');
  // kv and full at batch 16 × 32k failed on the H100 in both variants: errors, not times.
  const failed = s.cells.find((c) => c.stage === 'kv-b16' && c.context === 32768)!;
  assert.deepEqual(failed.variants, []);
  assert.deepEqual(failed.errors.map((e) => e.variant).sort(), ['auto', 'rows']);
  assert.match(failed.errors[0].error, /GPU device reported an error/);
  assert.deepEqual(s.checks.map((c) => [c.file, c.ok]), [['dc.json', true]]);
  assert.ok(s.checks[0].maxRelErr < 1e-5);
  // The default base is auto, the library's default shader.
  const byAuto = summarizeDecodeAb(DIR);
  const rows = byAuto.cells.find((c) => c.stage === 'abs-b16' && c.context === 32768)!.variants.find((v) => v.variant === 'rows')!;
  assert.equal(rows.overBase!.toFixed(2), (25.347 / 16.235).toFixed(2));
});

test('mla bench decode-ab prints the table; a folder that is not one is one line naming it', () => {
  const cli = path.join(ROOT, 'dist', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'bench', 'decode-ab', DIR, '--base', 'rows'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /abs-b16\s+32768\s+auto\s+16\.23\s+15\.24\s+0\.64\s+6\.8/);
  assert.match(r.stdout, /dc\.json: ok, \d+ cases/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-ab-'));
  const bad = spawnSync(process.execPath, [cli, 'bench', 'decode-ab', empty], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.trim(), /has no ab\/NAME-VARIANT\.json and no dc\*\.json: not a decode-shaders\.sh folder$/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
