// `mla bench summarize` (lib/bench/device-summary.ts) rebuilds the committed summary of the GPU runs exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summarizeDeviceRuns } from '../../lib/bench';

const DIR = path.resolve(__dirname, '..', '..', '..', 'data', 'bench', 'device');

test('summarizeDeviceRuns gives the committed data/bench/device/summary.json', () => {
  const want = JSON.parse(fs.readFileSync(path.join(DIR, 'summary.json'), 'utf8'));
  assert.deepEqual(JSON.parse(JSON.stringify(summarizeDeviceRuns(DIR))), want);
});

test('summarizeDeviceRuns names the missing file and the fix', () => {
  assert.throws(() => summarizeDeviceRuns(path.join(DIR, 'no-such-folder')), { name: 'BenchError', message: /run-all.coverage\.json is missing; copy the device run's files there first/ });
});
