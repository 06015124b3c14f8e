// Cross-implementation check: the PyTorch reference (scripts/torch/mla_torch.py, written separately from the
// spec) must give our model's logits for every attention kind, from the same checkpoint file, converted MLA
// (latentNorm 'none') and partial RoPE on MHA/GQA included. The weights are drawn at std 0.2 (not the
// original's 0.01) so the logits are far from uniform and a wrong component shows.
// Skipped when /usr/bin/python3 has no torch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { ModelConfig } from '../../lib/config/model-config';
import { resolveConfig } from '../../lib/config/presets';
import { CacheMode, cacheModesFor } from '../../lib/costs/cache-modes';
import { GPT } from '../../lib/model/gpt';
import { sharpParams, tokenIds, useCpu } from '../helpers/models';

const PYTHON = '/usr/bin/python3';
// dist/test/crossimpl → the repository root.
const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'torch', 'mla_torch.py');

interface Case {
  name: string;
  preset: string;
  overrides?: Partial<ModelConfig>;
}

const CASES: Case[] = [
  ...['mha', 'mqa', 'gqa', 'mla'].flatMap((k) => ['norope', 'rope'].map((p) => ({ name: `tiny-${k}-${p}`, preset: `tiny-${k}-${p}` }))),
  { name: 'tiny-mha-decoupled-rope', preset: 'tiny-mha-decoupled-rope' },
  // tiny-gqa has 1 KV head (= MQA); 2 KV heads check which query heads share a KV head.
  { name: 'tiny-gqa-rope, 2 KV heads', preset: 'tiny-gqa-rope', overrides: { nKvHeads: 2 } },
  // A RoPE sub-head of a quarter head: its frequencies must still come from the full head dim.
  { name: 'tiny-mla-rope, ropeDim 4', preset: 'tiny-mla-rope', overrides: { ropeDim: 4 } },
  // Converted models (lib/convert): no LayerNorm on either latent, and no q_norm / kv_norm tensors in the file.
  { name: 'tiny-mla-rope, latentNorm none', preset: 'tiny-mla-rope', overrides: { latentNorm: 'none' } },
  { name: 'tiny-mla-norope, latentNorm none', preset: 'tiny-mla-norope', overrides: { latentNorm: 'none' } },
  // Partial RoPE on the MHA family: only the last ropeDim dims of each head (of 16) rotate.
  { name: 'tiny-mha-rope, partial RoPE 8', preset: 'tiny-mha-rope', overrides: { ropeDim: 8 } },
  { name: 'tiny-gqa-rope, 2 KV heads, partial RoPE 4', preset: 'tiny-gqa-rope', overrides: { nKvHeads: 2, ropeDim: 4 } },
  // Decoupled RoPE on every dim: no no-RoPE part, every key the one shared RoPE key.
  { name: 'tiny-mla-rope, ropeDim 16 of 16', preset: 'tiny-mla-rope', overrides: { ropeDim: 16 } },
  { name: 'tiny-mha-decoupled-rope, ropeDim 16 of 16', preset: 'tiny-mha-decoupled-rope', overrides: { ropeDim: 16 } },
];

function torchSkipReason(): string | undefined {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import torch (${(r.stderr || '').trim().split('\n').pop()})`;
}

interface TorchRow {
  checkpoint: string;
  cache: string;
  logits: number[][];
}

/** Runs the PyTorch CLI once over several checkpoints; returns its logits by checkpoint file. */
function torchLogits(files: string[], ids: number[], extra: string[]): Map<string, number[][]> {
  const args = [SCRIPT, 'logits', ...files.flatMap((f) => ['--checkpoint', f]), '--ids', ids.join(','), '--threads', '1', ...extra];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `mla_torch.py ${extra.join(' ')} failed: ${r.stderr}`);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as TorchRow);
  return new Map(rows.map((row) => [row.checkpoint, row.logits]));
}

function maxAbs(a: number[][]): number {
  return Math.max(...a.map((row) => Math.max(...row.map(Math.abs))));
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length, 'position counts differ');
  let m = 0;
  for (let t = 0; t < a.length; t++) {
    assert.equal(a[t].length, b[t].length, `vocabulary sizes differ at position ${t}`);
    for (let v = 0; v < a[t].length; v++) m = Math.max(m, Math.abs(a[t][v] - b[t][v]));
  }
  return m;
}

const skip = torchSkipReason();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-crossimpl-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Prepared {
  file: string;
  config: ModelConfig;
  ours: number[][];
}
const prepared = new Map<string, Prepared>();
// Torch logits per cache mode ('none' = one forward in float64, the reference), by checkpoint file.
const torchBy = new Map<string, Map<string, number[][]>>();
let ids: number[] = [];

before(async () => {
  if (skip) return;
  await useCpu();
  for (const [i, c] of CASES.entries()) {
    const config = resolveConfig(c.preset, c.overrides ?? {});
    const params = sharpParams(config, 11 + i);
    const file = path.join(dir, `case${i}.safetensors`);
    await saveCheckpoint(file, params, config);
    if (!ids.length) ids = tokenIds(1, config.maxSeqLen, config.vocabSize)[0]; // every position of the table
    const model = new GPT(config, params);
    const logits = model.logits(tf.tensor2d([ids], undefined, 'int32'));
    prepared.set(c.name, { file, config, ours: (logits.arraySync() as number[][][])[0] });
    logits.dispose();
    model.dispose();
  }
  const all = [...prepared.values()];
  torchBy.set('none', torchLogits(all.map((p) => p.file), ids, ['--dtype', 'float64']));
  // The reference's cached decode (float32, one token at a time) must agree too: bench_decode.py relies on it.
  const modes = [...new Set(all.flatMap((p) => cacheModesFor(p.config)))];
  for (const mode of modes) {
    const files = all.filter((p) => cacheModesFor(p.config).includes(mode)).map((p) => p.file);
    torchBy.set(mode, torchLogits(files, ids, ['--cache', mode]));
  }
});

for (const c of CASES) {
  test(`${c.name}: PyTorch reference logits equal ours (full forward and every cache mode)`, { skip }, (t) => {
    const p = prepared.get(c.name)!;
    const scale = maxAbs(p.ours);
    // Sharp enough that a wrong component cannot hide under the tolerance.
    assert.ok(scale > 1, `${c.name}: test logits too flat (max |logit| ${scale})`);
    const tol = 1e-4 * scale;
    for (const mode of ['none', ...cacheModesFor(p.config)] as CacheMode[]) {
      const theirs = torchBy.get(mode)?.get(p.file);
      assert.ok(theirs, `${c.name}: no PyTorch logits for cache mode ${mode}`);
      assert.equal(theirs.length, ids.length);
      const d = maxAbsDiff(p.ours, theirs);
      t.diagnostic(`${mode}: max |ours - torch| ${d.toExponential(2)}, logit scale ${scale.toFixed(2)}`);
      assert.ok(d <= tol, `${c.name} (${mode}): max |ours - torch| = ${d.toExponential(3)} > ${tol.toExponential(3)} (logit scale ${scale.toFixed(2)})`);
    }
  });
}

test('the PyTorch reference rejects a file that is not a lab checkpoint, naming it', { skip }, () => {
  const bad = path.join(dir, 'not-a-checkpoint.safetensors');
  fs.writeFileSync(bad, Buffer.from('this is not safetensors'));
  const r = spawnSync(PYTHON, [SCRIPT, 'logits', '--checkpoint', bad, '--ids', '1,2'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /CheckpointError/);
  assert.ok(r.stderr.includes(bad), `message should name the file: ${r.stderr}`);
});
