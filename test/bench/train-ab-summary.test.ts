// `mla bench train-ab` (lib/bench/train-ab-summary.ts) on the committed train-ab.sh folder of the H100 A/B of
// 2026-12-07 (matmul depth 8 against 16, 32 KiB fused-attention tiles): the README's table must come out of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { summarizeTrainAb } from '../../lib/bench/train-ab-summary';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIR = path.join(ROOT, 'data', 'bench', 'device', 'train-ab-2026-12-07f-h100', 'mla-35m');

test('the H100 training A/B: rounds per variant, ratios to the base and to PyTorch SDPA, the settings that differ', () => {
  const s = summarizeTrainAb(DIR);
  assert.equal(s.presets.length, 1);
  const p = s.presets[0];
  assert.equal(p.preset, '35m-mla-rope');
  assert.equal(p.base, 'd8', 'the first variant that ran');
  const by = Object.fromEntries(p.variants.map((v) => [v.variant, v]));
  assert.deepEqual(Object.keys(by), ['d8', 'd16', 'f32']);
  // README: d8 85,636 / 85,851, d16 80,203 / 80,171, f32 82,720 / 83,027; PyTorch SDPA 143,444.
  assert.deepEqual(by.d8.rounds.map(Math.round), [85636, 85851]);
  assert.deepEqual(by.d16.rounds.map(Math.round), [80203, 80171]);
  assert.deepEqual(by.f32.rounds.map(Math.round), [82720, 83027]);
  assert.deepEqual(p.torch.map((t) => [t.impl, Math.round(t.tokensPerSec), t.deviceName, t.tf32]), [['sdpa', 143444, 'NVIDIA H100 80GB HBM3', false]]);
  assert.equal(by.d8.overBase, 1);
  assert.equal(by.d16.overBase.toFixed(3), ((80203.2 + 80171.4) / (85636 + 85851)).toFixed(3));
  assert.equal(by.d8.overTorch!.toFixed(2), '0.60');
  // The settings come from the records: d16 differs in the matmul depth only, f32 in the flash tiles only.
  assert.deepEqual(by.d8.settings, {});
  assert.deepEqual(by.d16.settings, { matmulDepth: 16 });
  assert.deepEqual(by.f32.settings, { flashTileKiB: 32 });
  // Another base, and a base the folder lacks.
  assert.equal(summarizeTrainAb(DIR, 'd16').presets[0].variants.find((v) => v.variant === 'd8')!.overBase.toFixed(3), ((85636 + 85851) / (80203.2 + 80171.4)).toFixed(3));
  assert.throws(() => summarizeTrainAb(DIR, 'd4'), /has no variant d4; its variants: d8, d16, f32/);
});

test('mla bench train-ab prints the table; a folder that is not one is one line naming it', () => {
  const cli = path.join(ROOT, 'dist', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [cli, 'bench', 'train-ab', DIR], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /35m-mla-rope\s+d16\s+80203, 80171\s+80187\s+0\.935\s+0\.559\s+matmulDepth=16/);
  assert.match(r.stdout, /PyTorch sdpa \(NVIDIA H100 80GB HBM3, fp32, TF32 off\): 143444 tokens\/s/);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-tab-'));
  const bad = spawnSync(process.execPath, [cli, 'bench', 'train-ab', empty], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr.trim(), /has no ours-PRESET-VARIANT-rN\.json records: not a train-ab\.sh folder$/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
