// Committed run folders keep metrics.jsonl gzipped (metrics.jsonl.gz): readMetrics reads either, the same lines,
// and a damaged .gz is one error naming the file and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { METRICS_FILE, readMetrics } from '../../lib/train/run-dir';

const lines = [
  { kind: 'train', step: 1, loss: 9.2 },
  { kind: 'val', step: 1, valLoss: 9.1 },
];
const text = lines.map((l) => JSON.stringify(l)).join('\n') + '\n{"kind":"train","step":2,'; // a cut last line

test('readMetrics reads metrics.jsonl.gz as it reads metrics.jsonl; neither is no lines', () => {
  const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-rundir-'));
  const gz = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-rundir-'));
  fs.writeFileSync(path.join(plain, METRICS_FILE), text);
  fs.writeFileSync(path.join(gz, `${METRICS_FILE}.gz`), gzipSync(text));
  assert.deepEqual(readMetrics(gz), readMetrics(plain));
  assert.deepEqual(readMetrics(gz), lines);
  assert.deepEqual(readMetrics(fs.mkdtempSync(path.join(os.tmpdir(), 'mla-rundir-'))), []);
  // The plain file wins where both exist (a resumed run appends to it).
  fs.writeFileSync(path.join(gz, METRICS_FILE), JSON.stringify(lines[0]) + '\n');
  assert.deepEqual(readMetrics(gz), [lines[0]]);
});

test('a damaged metrics.jsonl.gz is one error naming it and the fix', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-rundir-'));
  fs.writeFileSync(path.join(dir, `${METRICS_FILE}.gz`), gzipSync(text).subarray(0, 20));
  assert.throws(() => readMetrics(dir), (e: Error) => e.message.includes(`${METRICS_FILE}.gz is not a readable gzip file`) && e.message.includes('git checkout') && !e.message.includes('\n'));
});
