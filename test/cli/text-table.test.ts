// The CLI's text tables (cli/common.ts textTable): a row shorter than the header (a bench's error row) gets blank
// cells instead of crashing the command after its record was written (bench decode, 2026-12-07).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textTable } from '../../cli/common';

test('textTable pads columns and fills a short row with blank cells', () => {
  const t = textTable(['a', 'bb', 'c'], [[1, 22, 333], ['x']]);
  assert.deepEqual(t.split('\n'), ['a  bb    c', '1  22  333', 'x         ']);
});
