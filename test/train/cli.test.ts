// `mla train` and `mla eval` end to end on the tiny-mla-norope preset and a small WikiText fixture: the run folder,
// a loadable checkpoint, and eval reproducing the trainer's own validation number from the checkpoint.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../lib/model/load';
import { readMetrics } from '../../lib/train/run-dir';
import { fixtureParagraphs, removeDir, tempDir, wikiArticle, writeWikiText } from '../data/helpers';

const MAIN = path.join(__dirname, '..', '..', 'cli', 'main.js');
const work = tempDir('train-cli');
after(() => removeDir(work));

function mla(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('mla train then mla eval on tiny-mla-norope', { timeout: 300_000 }, () => {
  const src = path.join(work, 'wikitext');
  const arts = (salt: string, n: number) => Array.from({ length: n }, (_, i) => wikiArticle(`${salt} ${i}`, fixtureParagraphs(4, `${salt}${i}`)));
  writeWikiText(src, 'tokens', { train: arts('train', 8), val: arts('val', 2), test: arts('test', 2) });
  const out = path.join(work, 'run');
  const common = ['--data', `wikitext2:${src}`, '--root', path.join(work, 'data')];
  const t = mla([
    'train', '--preset', 'tiny-mla-norope', '--set', 'vocabSize=300', ...common, '--tokens', '192', '--batch', '2', '--seq', '16',
    '--accum', '1', '--eval-every', '3', '--eval-tokens', '200', '--checkpoint-every', '3', '--seed', '4', '--out', out, '--json',
  ]);
  assert.equal(t.code, 0, t.stderr);
  const res = JSON.parse(t.stdout);
  assert.equal(res.steps, 6);
  assert.equal(res.totalSteps, 6);
  assert.equal(res.preset, 'tiny-mla-norope');
  assert.ok(Number.isFinite(res.finalLoss) && Number.isFinite(res.finalValPerplexity));
  assert.match(res.checkpoint, /checkpoint\/step-00000006$/);

  const lines = readMetrics(out);
  assert.deepEqual(lines.filter((l) => l.kind === 'train').map((l) => l.step), [1, 2, 3, 4, 5, 6]);
  const vals = lines.filter((l) => l.kind === 'val');
  assert.deepEqual(vals.map((l) => l.step), [3, 6]);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.model.attention, 'mla');
  assert.equal(cfg.data.spec, `wikitext2:${src}`);
  assert.match(cfg.data.corpusHash, /^[0-9a-f]{64}$/);
  assert.equal(cfg.backend, 'cpu');
  assert.equal(typeof cfg.device, 'string');

  // The checkpoint is a plain model file that the rest of the lab loads, and it names its tokenizer.
  const { model, metadata } = loadModel(path.join(res.checkpoint, 'model.safetensors'), cfg.model);
  assert.ok(fs.existsSync(metadata.tokenizer), 'the tokenizer recorded for mla generate exists');
  model.dispose();

  const e = mla(['eval', '--run', out, '--max-tokens', '200', '--json']);
  assert.equal(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.tokens, 200);
  assert.equal(ev.step, 6);
  assert.equal(ev.perplexity, res.finalValPerplexity, "eval from the checkpoint reproduces the trainer's last validation");

  const again = mla(['train', '--preset', 'tiny-mla-norope', '--set', 'vocabSize=300', ...common, '--tokens', '192', '--out', out]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^mla: .*already holds a run/m);
  const resumed = mla(['train', '--out', out, '--resume', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).steps, 6, 'a finished run resumes to nothing more');
  assert.equal(readMetrics(out).length, lines.length);
});

test('train and eval explain their flags and refuse bad ones', () => {
  const help = mla(['train', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--resume/);
  assert.match(help.stdout, /--schedule S .*original/);
  assert.match(mla(['eval', '--help']).stdout, /--split S/);
  const noPreset = mla(['train', '--tokens', '10']);
  assert.equal(noPreset.code, 2);
  assert.match(noPreset.stderr, /train: --preset NAME is required/);
  const badSchedule = mla(['train', '--preset', 'tiny-mha-norope', '--tokens', '10', '--schedule', 'linear']);
  assert.match(badSchedule.stderr, /--schedule must be cosine or original, got 'linear'/);
  const noRun = mla(['eval', '--run', path.join(work, 'nowhere')]);
  assert.equal(noRun.code, 2);
  assert.match(noRun.stderr, /nowhere\/config\.json is missing or unreadable/);
});
