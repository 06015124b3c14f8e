// scripts/torch/bench_decode.py, the PyTorch side of every decode comparison: a real prefill's cache matches a
// full forward (cacheMaxAbsDiff), and --prefill tiled (the lab's tiledPrefill, for timings past what a real
// prefill can fill in time) decodes from a cache of the full context, unchecked, and says so in its record.
// Skipped when /usr/bin/python3 has no torch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TILE_SEED_TOKENS } from '../../lib/generate/prefill';

const PYTHON = '/usr/bin/python3';
const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'torch', 'bench_decode.py');

const skip = (() => {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import torch`;
})();

interface Row { cache: string; promptLen: number; prefill: string; cacheMaxAbsDiff: number | null; msPerToken: { median: number } }

function bench(prefill: string, context: number): Row[] {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mla-torch-decode-')), 'rows.jsonl');
  const args = [SCRIPT, '--preset', 'tiny-mla-rope', '--set', 'maxSeqLen=640', '--cache', 'latent,absorbed,full', '--contexts', String(context),
    '--batch', '2', '--new-tokens', '3', '--repeats', '1', '--warmup-runs', '0', '--threads', '1', '--prefill', prefill, '--out', out];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `bench_decode.py --prefill ${prefill} failed: ${r.stderr}`);
  const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Row);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return rows;
}

test('bench_decode.py: a real prefill is checked against a full forward; a tiled one past its seed is not, and both say which they were', { skip }, () => {
  assert.equal(TILE_SEED_TOKENS, 256, 'bench_decode.py TILE_SEED_TOKENS is the lab\'s: change both');
  const context = TILE_SEED_TOKENS + 300; // past the seed: the rows repeat twice and a part
  const real = bench('real', context);
  const tiled = bench('tiled', context);
  assert.deepEqual(real.map((r) => r.cache), ['latent', 'absorbed', 'full']);
  for (const [i, t] of tiled.entries()) {
    assert.equal(real[i].prefill, 'real');
    assert.ok(real[i].cacheMaxAbsDiff !== null && real[i].cacheMaxAbsDiff < 1e-3, `${real[i].cache}: ${real[i].cacheMaxAbsDiff}`);
    assert.equal(t.prefill, 'tiled');
    assert.equal(t.cacheMaxAbsDiff, null, `${t.cache}: a tiled cache is not the prompt's, so it is not checked`);
    assert.equal(t.promptLen, context);
    assert.ok(t.msPerToken.median > 0);
  }
});
