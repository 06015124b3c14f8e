// mla generate --set maxSeqLen=N: past the checkpoint's maxSeqLen for RoPE models, refused for learned positions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.resolve(__dirname, '..', '..', 'cli', 'main.js');
const mla = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

test('mla generate --set maxSeqLen=N decodes past a RoPE checkpoint\'s maxSeqLen in every cache mode', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-gen-len-'));
  try {
    const rope = path.join(dir, 'rope.safetensors');
    const learned = path.join(dir, 'learned.safetensors');
    assert.equal(mla('init', '--preset', 'tiny-mla-rope', '--seed', '1', '--out', rope).status, 0);
    assert.equal(mla('init', '--preset', 'tiny-mla-norope', '--seed', '1', '--out', learned).status, 0);
    const tokens: Record<string, number[]> = {};
    for (const cache of ['none', 'latent', 'absorbed', 'full']) {
      const r = mla('generate', '--checkpoint', rope, '--prompt-ids', '1,2,3', '--tokens', '90', '--cache', cache, '--set', 'maxSeqLen=96', '--backend', 'cpu', '--json');
      assert.equal(r.status, 0, r.stderr);
      tokens[cache] = JSON.parse(r.stdout).tokens;
      assert.equal(tokens[cache].length, 90);
    }
    for (const cache of ['latent', 'absorbed', 'full']) assert.deepEqual(tokens[cache], tokens.none, `greedy tokens of cache ${cache}`);
    const short = mla('generate', '--checkpoint', rope, '--prompt-ids', '1,2,3', '--tokens', '90', '--backend', 'cpu');
    assert.match(short.stderr, /exceeds maxSeqLen 64/);
    const refused = mla('generate', '--checkpoint', learned, '--prompt-ids', '1,2,3', '--tokens', '90', '--set', 'maxSeqLen=96', '--backend', 'cpu');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /learned positions, a table of 64 rows/);
    assert.match(mla('generate', '--checkpoint', rope, '--prompt-ids', '1', '--tokens', '2', '--set', 'dModel=8').stderr, /only maxSeqLen=N/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
