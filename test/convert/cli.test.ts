// `mla convert` and the quantized rows of `mla info`, as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { quantizedKvCacheBytes } from '../../lib/costs/kv-cache';
import { resolveConfig } from '../../lib/config/presets';

const MAIN = path.resolve(__dirname, '..', '..', 'cli', 'main.js');

function mla(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('mla init then mla convert --json: an MLA checkpoint that decodes; a bad rank fails in one line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-convert-cli-'));
  try {
    const from = path.join(dir, 'mha.safetensors');
    const out = path.join(dir, 'mla.safetensors');
    assert.equal(mla(['init', '--preset', 'tiny-mha-rope', '--seed', '3', '--out', from, '--json']).code, 0);
    const r = mla(['convert', '--from', from, '--kv-rank', '24', '--rope-dims', '8', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.config.attention, 'mla');
    assert.equal(j.config.kvRank, 24);
    assert.equal(j.config.latentNorm, 'none');
    assert.equal(j.exact, false);
    assert.equal(j.layers.length, 2);
    assert.ok(fs.existsSync(out));
    const logits = mla(['logits', '--checkpoint', out, '--ids', '1,2,3', '--cache', 'absorbed', '--json']);
    assert.equal(logits.code, 0, logits.stderr);
    const bad = mla(['convert', '--from', from, '--kv-rank', '65', '--out', out]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /kvRank = 65; must be an integer in 1\.\.dModel \(64\)/);
    assert.doesNotMatch(bad.stderr, /at .*\.js:\d+/, 'a user error prints no stack');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('mla info --json lists the quantized latent cache with the cost function’s bytes', () => {
  const r = mla(['info', '--preset', '35m-mla-rope', '--group-size', '64', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const q = JSON.parse(r.stdout).kvCacheQuantized as { format: string; bytesPerToken: number; bytesPerTokenPerLayer: number }[];
  const c = resolveConfig('35m-mla-rope');
  assert.deepEqual(q.map((x) => x.format), ['int8', 'int4', 'fp8']);
  for (const x of q) assert.equal(x.bytesPerToken, quantizedKvCacheBytes(c, 'latent', { format: x.format as 'int8', groupSize: 64 }).perToken);
  // int8: 341 code bytes + 6 fp32 scales + a 16-dim fp32 RoPE key per layer.
  assert.equal(q[0].bytesPerTokenPerLayer, 341 + 6 * 4 + 16 * 4);
  assert.deepEqual(JSON.parse(mla(['info', '--preset', '35m-mha-rope', '--json']).stdout).kvCacheQuantized, []);
});
