// Model checkpoints: bit-exact round trip of a real (tiny) GPT, and the errors a wrong file gives.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolveConfig } from '../../lib/config/presets';
import { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { readSafetensors, writeSafetensors } from '../../lib/checkpoint/safetensors';
import { createModel } from '../../lib/model/gpt';

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-ck-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const config = resolveConfig('tiny-mla-norope');

test('a tiny MLA GPT round-trips bit-exactly with its config', async () => {
  await tf.setBackend('cpu');
  const model = createModel(config, 5);
  const file = path.join(tmpDir(), 'model.safetensors');
  await saveCheckpoint(file, model.params, config, { note: 'x' });
  const back = loadCheckpoint(file, config);
  assert.deepEqual(back.config, config);
  assert.equal(back.metadata.format, CHECKPOINT_FORMAT);
  assert.equal(back.metadata.note, 'x');
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(model.params).sort());
  for (const [name, p] of Object.entries(model.params)) {
    const a = Buffer.from((p.dataSync() as Float32Array).buffer);
    const b = Buffer.from((back.tensors[name].dataSync() as Float32Array).buffer);
    assert.ok(a.equals(b), `${name} is not bit-exact`);
  }
  // The reloaded weights make the same model.
  const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32');
  const reloaded = createModel(config, 99);
  for (const [n, t] of Object.entries(back.tensors)) reloaded.params[n].assign(t);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(model.logits(ids), reloaded.logits(ids)))).dataSync()[0]);
  assert.equal(d, 0);
  tf.dispose([ids, ...Object.values(back.tensors)]);
  model.dispose();
  reloaded.dispose();
});

test('a checkpoint of another model names the config fields that differ', async () => {
  const model = createModel(config, 1);
  const file = path.join(tmpDir(), 'model.safetensors');
  await saveCheckpoint(file, model.params, config);
  const other = resolveConfig('tiny-mla-norope', { nLayers: 3, dropout: 0 });
  assert.throws(() => loadCheckpoint(file, other), (e: Error) => {
    assert.equal(e.name, 'CheckpointError');
    assert.match(e.message, /saved for a different model/);
    assert.match(e.message, /nLayers: checkpoint has 2, expected 3/);
    assert.match(e.message, /dropout: checkpoint has 0\.1, expected 0/);
    return true;
  });
  model.dispose();
});

test('a tensor with the wrong shape, a missing tensor or an extra one is named', async () => {
  const model = createModel(config, 1);
  const dir = tmpDir();
  const file = path.join(dir, 'model.safetensors');
  await saveCheckpoint(file, model.params, config);
  const content = readSafetensors(file);
  const tensors = { ...content.tensors };
  tensors['head.bias'] = { dtype: 'F32', shape: [3], data: new Float32Array(3) };
  writeSafetensors(file, tensors, content.metadata);
  assert.throws(() => loadCheckpoint(file), /tensor 'head\.bias' in .* has shape \[3\], expected \[512\]/);
  delete tensors['head.bias'];
  writeSafetensors(file, tensors, content.metadata);
  assert.throws(() => loadCheckpoint(file), /lacks tensor 'head\.bias' \(expected shape \[512\]\)/);
  tensors['head.bias'] = content.tensors['head.bias'];
  tensors.stray = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
  writeSafetensors(file, tensors, content.metadata);
  assert.throws(() => loadCheckpoint(file), /tensors the model does not have: stray/);
  model.dispose();
});

test('a file without mla-lab metadata or with a broken config is refused', () => {
  const file = path.join(tmpDir(), 'foreign.safetensors');
  writeSafetensors(file, { w: { shape: [1], data: new Float32Array(1) } });
  assert.throws(() => loadCheckpoint(file), /no format field in its metadata; expected 'mla-lab\/1'/);
  writeSafetensors(file, { w: { shape: [1], data: new Float32Array(1) } }, { format: CHECKPOINT_FORMAT, config: JSON.stringify({ ...config, nHeads: 3 }) });
  assert.throws(() => loadCheckpoint(file), /holds an invalid config: .*nHeads/);
});
