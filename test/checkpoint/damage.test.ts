// Damaged and unwritable files: a NaN checkpoint, a folder given as a file, a write into a missing folder or a
// full disk, a training set whose state.json is damaged. Each is refused with one line, and nothing already on
// disk is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { writeFileAtomic } from '../../lib/checkpoint/atomic';
import { loadCheckpoint, saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { enospcError, setFaultHook } from '../../lib/checkpoint/faults';
import { readSafetensors, writeSafetensors } from '../../lib/checkpoint/safetensors';
import { resolveConfig } from '../../lib/config/presets';
import { createModel } from '../../lib/model/gpt';
import { AdamW } from '../../lib/train/adamw';
import { findLatestCheckpoint, saveTrainingCheckpoint } from '../../lib/train/checkpoints';
import { removeDir, tempDir } from '../data/helpers';

const work = tempDir('damage');
after(() => removeDir(work));
let k = 0;
const tmpDir = () => fs.mkdtempSync(path.join(work, `${k++}-`));

const config = resolveConfig('tiny-mla-norope');

test('a checkpoint holding NaN (or Inf) weights is refused on load, naming the tensor', async () => {
  await tf.setBackend('cpu');
  const model = createModel(config, 1);
  const file = path.join(tmpDir(), 'model.safetensors');
  await saveCheckpoint(file, model.params, config);
  model.dispose();
  const c = readSafetensors(file);
  for (const bad of [NaN, Infinity]) {
    const name = Object.keys(c.tensors).find((k) => c.tensors[k].dtype === 'F32')!;
    const data = Float32Array.from(c.tensors[name].data as Float32Array);
    data[7] = bad;
    const poisoned = path.join(tmpDir(), 'poisoned.safetensors');
    writeSafetensors(poisoned, { ...c.tensors, [name]: { ...c.tensors[name], data } }, c.metadata);
    assert.throws(() => loadCheckpoint(poisoned), (e: Error) => {
      assert.equal(e.name, 'CheckpointError');
      assert.equal(e.message, `tensor '${name}' in ${poisoned} holds ${bad} at index 7; the file is damaged or was written by a diverged run, use an earlier checkpoint`);
      return true;
    });
  }
});

test('a folder passed as a checkpoint file is refused with the file to pass instead', () => {
  assert.throws(() => readSafetensors(tmpDir()), /is a folder, not a checkpoint file; pass its \.safetensors file/);
});

test('a write into a missing folder, or one that fails with ENOSPC, is one line; the old file and no temporary remain', () => {
  const dir = tmpDir();
  assert.throws(() => writeFileAtomic(path.join(dir, 'missing', 'x.json'), '{}'), (e: Error) => {
    assert.equal(e.name, 'CheckpointError');
    assert.match(e.message, /^cannot write .*missing\/x\.json \(ENOENT\): the folder does not exist; create it first or choose another$/);
    return true;
  });
  const file = path.join(dir, 'x.json');
  writeFileAtomic(file, 'old');
  setFaultHook((phase, f) => {
    if (phase === 'written' && f === file) throw enospcError(f);
  });
  try {
    assert.throws(() => writeFileAtomic(file, 'new'), /^CheckpointError: cannot write .*x\.json \(ENOSPC\): no space left on the device/);
  } finally {
    setFaultHook();
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir), ['x.json']);
});

async function saveSet(runDir: string, step: number, keep = 2) {
  const model = createModel(config, step);
  const adam = new AdamW(model.params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const ref = await saveTrainingCheckpoint(runDir, {
    params: model.params, config, optimizer: adam.state(), hp: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 },
    state: { step, tokens: step, sampler: null, rng: 1, elapsedSec: 0 }, keep,
  });
  adam.dispose();
  model.dispose();
  return ref;
}

test('a damaged state.json is reported (not "no checkpoint yet"), names the older set, and no save deletes it', async () => {
  const run = tmpDir();
  await saveSet(run, 5);
  await saveSet(run, 10);
  const damaged = path.join(run, 'checkpoint', 'step-00000010', 'state.json');
  fs.writeFileSync(damaged, '{"step": 1');
  assert.throws(() => findLatestCheckpoint(run), (e: Error) => {
    assert.equal(e.name, 'CheckpointError');
    assert.equal(e.message, `checkpoint step-00000010 is damaged: ${damaged} is not valid JSON with a step; restore it, or move ${path.dirname(damaged)} away to continue from step-00000005`);
    return true;
  });
  // Saving more sets (keep 1) prunes complete ones, never the damaged set.
  fs.writeFileSync(path.join(run, 'checkpoint', 'latest.json'), JSON.stringify({ step: 5, dir: 'step-00000005' }));
  await saveSet(run, 15, 1);
  assert.ok(fs.existsSync(damaged), 'the damaged set is kept');
  assert.equal(fs.readFileSync(damaged, 'utf8'), '{"step": 1');
  assert.equal(findLatestCheckpoint(run)?.step, 15);

  // Weights gone from a set whose state.json says it is complete: damage too, not a silent fallback.
  const other = tmpDir();
  await saveSet(other, 5);
  fs.rmSync(path.join(other, 'checkpoint', 'step-00000005', 'model.safetensors'));
  assert.throws(() => findLatestCheckpoint(other), /step-00000005 is damaged: .*model\.safetensors is missing although state\.json says the set is complete; restore it, or move .* away and start the run again/);
});
