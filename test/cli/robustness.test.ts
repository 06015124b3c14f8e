// The `mla` command against an adversarial user, on tiny-mla-rope and two small WikiText fixtures: every user
// error is one line with a non-zero exit (a stack only with --debug), a run refuses other data on --resume and
// eval, SIGTERM and SIGHUP checkpoint like Ctrl-C, a diverging --lr stops, and a closed pipe ends output quietly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSafetensors, writeSafetensors } from '../../lib/checkpoint/safetensors';
import { findLatestCheckpoint } from '../../lib/train/checkpoints';
import { readMetrics } from '../../lib/train/run-dir';
import { fixtureParagraphs, removeDir, tempDir, wikiArticle, writeWikiText } from '../data/helpers';

const MAIN = path.join(__dirname, '..', '..', 'cli', 'main.js');
const work = tempDir('cli-robust');
after(() => removeDir(work));
const ENV = { ...process.env, MLA_BACKEND: 'cpu' };

function mla(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: ENV });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asserts a user error: the given exit code, and stderr ending in exactly one `mla: …` line with no stack. */
function userError(r: { code: number | null; stderr: string }, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('mla: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], message);
}

const fixture = (name: string) => {
  const dir = path.join(work, name);
  const arts = (salt: string, k: number) => Array.from({ length: k }, (_, i) => wikiArticle(`${name} ${salt} ${i}`, fixtureParagraphs(4, `${name}${salt}${i}`)));
  writeWikiText(dir, 'tokens', { train: arts('train', 8), val: arts('val', 2), test: arts('test', 2) });
  return dir;
};
const dataA = () => path.join(work, 'a');
const common = (data: string) => ['--data', `wikitext2:${data}`, '--root', path.join(work, 'data')];
const trainArgs = (out: string, tokens: number, extra: string[] = []) => [
  'train', '--preset', 'tiny-mla-rope', '--set', 'vocabSize=300', ...common(dataA()), '--tokens', String(tokens), '--batch', '2', '--seq', '16',
  '--accum', '1', '--seed', '1', '--out', out, '--progress', 'lines', ...extra,
];
const run = () => path.join(work, 'run');
const model = () => path.join(findLatestCheckpoint(run())!.dir, 'model.safetensors');

before(() => {
  fixture('a');
  fixture('b');
  const t = mla(trainArgs(run(), 320, ['--checkpoint-every', '5']));
  assert.equal(t.code, 0, t.stderr);
});

test('--resume with other data, and eval after the corpus changed, are refused naming both values', () => {
  const config = fs.readFileSync(path.join(run(), 'config.json'), 'utf8');
  const r = mla(['train', '--out', run(), '--resume', ...common(path.join(work, 'b'))]);
  userError(r, 1, new RegExp(`^mla: --resume of .*: the data differs from the run's \\(spec: run has "wikitext2:${dataA()}", now "wikitext2:${path.join(work, 'b')}"; corpusHash: run has "[0-9a-f]{64}", now "[0-9a-f]{64}"; tokenizerSha256: .*\\); use the run's data \\(--data wikitext2:${dataA()}\\)`));
  assert.equal(fs.readFileSync(path.join(run(), 'config.json'), 'utf8'), config, 'config.json is untouched');

  const trainFile = path.join(dataA(), 'wiki.train.tokens');
  const original = fs.readFileSync(trainFile);
  fs.appendFileSync(trainFile, ' = Added later = \n\n a sentence that was not there .\n');
  try {
    const hash = JSON.parse(config).data.corpusHash as string;
    userError(mla(['eval', '--run', run()]), 1, new RegExp(`^mla: eval of .*: the data differs from the run's \\(corpusHash: run has "${hash}", now "[0-9a-f]{64}"`));
  } finally {
    fs.writeFileSync(trainFile, original);
  }
  assert.equal(mla(['eval', '--run', run(), '--max-tokens', '50']).code, 0, 'the restored corpus evaluates again');
});

test('generate and logits: bad ids, lengths and temperatures are one-line errors, checked before any work', () => {
  userError(mla(['generate', '--checkpoint', model(), '--prompt-ids', '1,2,999', '--tokens', '3']), 1, /token id 999 of the prompt is outside the vocabulary 0\.\.299 of this model; use ids below 300$/);
  // Checked before the checkpoint is even opened: a missing file is not what is reported.
  userError(mla(['generate', '--checkpoint', path.join(work, 'none.safetensors'), '--prompt-ids', '1', '--tokens', '3', '--temperature=-1']), 2, /--temperature must be ≥ 0 \(0 = greedy\), got -1$/);
  const ids = (k: number) => Array.from({ length: k }, (_, i) => i + 1).join(',');
  userError(mla(['generate', '--checkpoint', model(), '--prompt-ids', ids(70), '--tokens', '3']), 1, /the prompt has 70 tokens, more than the model's maxSeqLen 64; shorten it/);
  userError(mla(['generate', '--checkpoint', model(), '--prompt-ids', ids(60), '--tokens', '10']), 1, /prompt 60 \+ 10 new tokens exceeds maxSeqLen 64; .*at most 5 new tokens$/);
  userError(mla(['logits', '--checkpoint', model(), '--ids', ids(65)]), 2, /--ids has 65 ids, more than the model's 64 positions \(maxSeqLen\); pass at most 64$/);
  assert.equal(mla(['logits', '--checkpoint', model(), '--ids', ids(64)]).code, 0);
  userError(mla(['generate', '--checkpoint', run(), '--prompt-ids', '1', '--tokens', '3']), 1, /is a folder, not a checkpoint file; pass its \.safetensors file/);

  const tok = path.join(work, 'my-tokenizer.json');
  fs.writeFileSync(tok, '{"model": ');
  const bad = mla(['generate', '--checkpoint', model(), '--prompt', 'the', '--tokenizer', tok, '--tokens', '2']);
  userError(bad, 2, /--tokenizer .*my-tokenizer\.json: .*; pass a tokenizer\.json written by 'mla data build'/);
  assert.doesNotMatch(bad.stderr, /delete it/, "a user's own file is never to be deleted");

  const debug = mla(['generate', '--checkpoint', model(), '--prompt-ids', '999', '--tokens', '1', '--debug']);
  assert.equal(debug.code, 1);
  assert.match(debug.stderr, /^mla: token id 999[^\n]*\nGenerateError: [^\n]*\n\s+at /m, '--debug adds the stack');
});

test('a NaN checkpoint is refused; init refuses to overwrite, a missing or read-only folder, and a folder as --out', () => {
  const c = readSafetensors(model());
  const nan = path.join(work, 'nan.safetensors');
  writeSafetensors(nan, Object.fromEntries(Object.entries(c.tensors).map(([k, t]) => [k, t.dtype === 'F32' ? { ...t, data: new Float32Array(t.data.length).fill(NaN) } : t])), c.metadata);
  userError(mla(['generate', '--checkpoint', nan, '--prompt-ids', '1,2', '--tokens', '3']), 1, /holds NaN at index 0; the file is damaged or was written by a diverged run/);

  const out = path.join(work, 'init.safetensors');
  assert.equal(mla(['init', '--preset', 'tiny-mla-rope', '--out', out]).code, 0);
  const first = fs.readFileSync(out);
  userError(mla(['init', '--preset', 'tiny-mla-rope', '--seed', '3', '--out', out]), 2, /exists; pass --force to overwrite it, or choose another --out$/);
  assert.deepEqual(fs.readFileSync(out), first, 'the file is untouched');
  assert.equal(mla(['init', '--preset', 'tiny-mla-rope', '--seed', '3', '--out', out, '--force']).code, 0);
  assert.notDeepEqual(fs.readFileSync(out), first);

  userError(mla(['init', '--preset', 'tiny-mla-rope', '--out', path.join(work, 'missing', 'x.safetensors')]), 2, /the folder .*missing of --out does not exist; create it first$/);
  userError(mla(['init', '--preset', 'tiny-mla-rope', '--out', work]), 2, /is a folder; name a file such as/);
  // Root writes through permissions, so the read-only case needs an ordinary user.
  if (process.getuid?.() !== 0) {
    const ro = path.join(work, 'read-only');
    fs.mkdirSync(ro, { mode: 0o555 });
    userError(mla(['init', '--preset', 'tiny-mla-rope', '--out', path.join(ro, 'x.safetensors')]), 1, /cannot write .*x\.safetensors \(EACCES\): permission denied; choose a folder you can write to$/);
  }
});

test('a damaged state.json is reported by --resume and eval, and its older set is kept', () => {
  const dir = path.join(work, 'damaged');
  fs.cpSync(run(), dir, { recursive: true });
  const sets = fs.readdirSync(path.join(dir, 'checkpoint')).filter((d) => d.startsWith('step-'));
  assert.deepEqual(sets, ['step-00000005', 'step-00000010']);
  fs.writeFileSync(path.join(dir, 'checkpoint', 'step-00000010', 'state.json'), '{"step": ');
  for (const args of [['train', '--out', dir, '--resume'], ['eval', '--run', dir]]) {
    userError(mla(args), 1, /checkpoint step-00000010 is damaged: .*state\.json is not valid JSON with a step; restore it, or move .* away to continue from step-00000005$/);
  }
  assert.deepEqual(fs.readdirSync(path.join(dir, 'checkpoint')).filter((d) => d.startsWith('step-')), sets, 'nothing was deleted');
});

test('--lr 3 stops as diverged, keeping the last sane checkpoint as latest', () => {
  const out = path.join(work, 'diverge');
  const r = mla(trainArgs(out, 640, ['--lr', '3', '--checkpoint-every', '1', '--divergence-steps', '5']));
  userError(r, 1, /^mla: training diverged: loss .* at step \d+ is above ln\(V\) \+ 2 = 7\.70 for 5 steps in a row \(since step \d+\); the last checkpoint with a sane loss is .*; lower --lr/);
  const since = Number(/since step (\d+)/.exec(r.stderr)![1]);
  assert.equal(findLatestCheckpoint(out)?.step, since - 1);
});

test('SIGTERM and SIGHUP write a checkpoint and exit 143 and 129; --resume then finishes', { timeout: 120_000 }, async () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    const out = path.join(work, `signal-${sig}`);
    const child = spawn(process.execPath, [MAIN, ...trainArgs(out, 16_000)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const steps = () => readMetrics(out).filter((l) => l.kind === 'train').length;
    for (const deadline = Date.now() + 60_000; steps() < 3; await sleep(10)) assert.ok(Date.now() < deadline, `no training started: ${stderr}`);
    child.kill(sig);
    assert.equal(await exit, code, stderr);
    assert.match(stderr, new RegExp(`${sig}: stopping after this step`));
    assert.ok(steps() < 500);
    assert.equal(findLatestCheckpoint(out)?.step, steps(), 'the checkpoint is of the last step logged');
  }
  const resumed = mla(['train', '--out', path.join(work, 'signal-SIGTERM'), '--resume', '--tokens', '16000', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).steps, 500);
});

test('a closed pipe (| head) ends output quietly: training still finishes and checkpoints, logits exits 0', async () => {
  const out = path.join(work, 'epipe');
  const args = trainArgs(out, 3200, ['--checkpoint-every', '25', '--keep-checkpoints', '3']);
  const child = spawn(process.execPath, [MAIN, ...args], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.destroy(); // the reader is gone before the first progress line
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0);
  assert.equal(findLatestCheckpoint(out)?.step, 100);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoint')).filter((d) => d.startsWith('step-')), ['step-00000050', 'step-00000075', 'step-00000100'], '--keep-checkpoints 3');

  const logits = spawn(process.execPath, [MAIN, 'logits', '--checkpoint', model(), '--ids', '1,2,3,4,5,6,7,8'], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  logits.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  logits.stdout.destroy();
  const lcode = await new Promise<number | null>((resolve) => logits.on('exit', (c) => resolve(c)));
  assert.equal(lcode, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|unexpected/);
});
