// The GPU machine's shell side of `mla experiment run` (scripts/device/): experiment-call.sh seeds its run folders
// from the committed finished and diverged ones and brings back every finished or diverged folder (no checkpoints,
// nothing set aside), snapshotting after each run that ends; unpack-runs.sh copies the new ones into
// data/experiments/gpu/ with their metrics gzipped. Run against a stand-in `mla` and `nvidia-smi`, in a temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const SCRIPTS = path.join(__dirname, '..', '..', '..', 'scripts', 'device');

/** Writes `files` (relative path → text) under `dir`. */
function write(dir: string, files: Record<string, string>): void {
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
}

const tarList = (file: string) => spawnSync('tar', ['-tzf', file], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => l.replace(/\/$/, ''));
const topLevel = (entries: string[]) => [...new Set(entries.map((e) => e.split('/')[0]))].sort();

// Stands in for `node .device/app/dist/cli/main.js experiment run … --runs-dir R`: leaves folders as the runner
// does and prints its lines, a diverged run's first; then waits for the snapshot that line should start, and
// writes down what it held.
const FAKE_MLA = `
const fs = require('fs'), path = require('path');
const argv = process.argv.slice(2);
const R = argv[argv.indexOf('--runs-dir') + 1];
const put = (f, t) => { fs.mkdirSync(path.dirname(path.join(R, f)), { recursive: true }); fs.writeFileSync(path.join(R, f), t); };
put('r-div/config.json', '{}'); put('r-div/metrics.jsonl', '{"loss":1e9}\\n'); put('r-div/checkpoint/latest.json', '{}');
put('r-div/diverged.json', '{"step":7}');
put('r-started/config.json', '{}'); put('r-started/metrics.jsonl', '{}\\n');
put('r-old.replaced-1/diverged.json', '{}'); put('r-old.restarted-2/result.json', '{}');
fs.writeSync(2, '[1/2] scaling 300m-mha-norope seed 0 lr 0.0012: diverged at step 7: training diverged: …\\n');
const tarball = path.join(process.env.OUT, 'runs.tar.gz');
const t0 = Date.now();
while (!fs.existsSync(tarball) && Date.now() - t0 < 10000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
fs.writeFileSync(path.join(process.env.OUT, 'after-diverged.txt'), fs.existsSync(tarball) ? 'snapshot\\n' : 'none\\n');
put('r-done/config.json', '{}'); put('r-done/metrics.jsonl', '{}\\n'); put('r-done/result.json', '{}'); put('r-done/checkpoint-7/x', '');
fs.writeSync(2, '[2/2] scaling 300m-mla-norope seed 0 lr 0.0012: val ppl 98.00, 1,000 tokens/s median, 9 s\\n');
process.exit(3);
`;

test('experiment-call.sh: committed finished and diverged folders seed the runs; finished and diverged ones come back, a diverged line snapshots', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-call-'));
  try {
    const runs = path.join(work, 'runs');
    const out = path.join(work, 'out');
    write(work, {
      '.device/unpack.sh': '',
      '.device/app/dist/cli/main.js': FAKE_MLA,
      'bin/nvidia-smi': '#!/bin/sh\necho "GPU 0: stand-in"\n',
      'data/experiments/gpu/c-done/result.json': '{}',
      'data/experiments/gpu/c-div/diverged.json': '{}',
      'data/experiments/gpu/c-none/config.json': '{}',
    });
    fs.chmodSync(path.join(work, 'bin/nvidia-smi'), 0o755);
    const PATH = [path.join(work, 'bin'), path.dirname(process.execPath), process.env.PATH].join(':');
    const r = spawnSync('bash', [path.join(SCRIPTS, 'experiment-call.sh'), '--experiment scaling'], { cwd: work, encoding: 'utf8', env: { ...process.env, PATH, RUNS: runs, OUT: out } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /=== exit 3/);
    assert.deepEqual(fs.readdirSync(runs).filter((n) => n.startsWith('c-')).sort(), ['c-div', 'c-done'], 'seeded with the finished and the diverged committed folders');
    assert.equal(fs.readFileSync(path.join(out, 'after-diverged.txt'), 'utf8'), 'snapshot\n', 'the diverged line started a snapshot');
    const entries = tarList(path.join(out, 'runs.tar.gz'));
    assert.deepEqual(topLevel(entries), ['c-div', 'c-done', 'r-div', 'r-done']);
    assert.ok(entries.includes('r-div/diverged.json') && entries.includes('r-div/metrics.jsonl'), entries.join(' '));
    assert.deepEqual(entries.filter((e) => /checkpoint/.test(e)), [], 'no checkpoints');
    assert.match(fs.readFileSync(path.join(out, 'log.txt'), 'utf8'), /diverged at step 7/);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('unpack-runs.sh: new finished and diverged folders are copied with gzipped metrics; others and committed ones are left, but a committed diverged record gives way to the same run finished', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-unpack-'));
  try {
    const src = path.join(work, 'src');
    const metrics = '{"kind":"train","step":1,"loss":1e9}\n';
    write(src, {
      'done-a/result.json': '{}', 'done-a/metrics.jsonl': metrics, 'done-a/checkpoint/latest.json': '{}',
      'div-b/diverged.json': '{"step":7}', 'div-b/config.json': '{}', 'div-b/metrics.jsonl': metrics, 'div-b/checkpoint/latest.json': '{}',
      'started-c/config.json': '{}', 'started-c/metrics.jsonl': metrics,
      'div-d.replaced-1/diverged.json': '{}',
      'div-e/diverged.json': '{"new":true}',
      'div-f/result.json': '{"retrained":true}', 'div-f/config.json': '{}', 'div-f/metrics.jsonl': metrics,
      'done-g/result.json': '{"again":true}',
    });
    const files = path.join(work, 'files');
    write(files, { 'log.txt': 'line 1\ncp: warning: x\nline 2\n' });
    assert.equal(spawnSync('tar', ['-czf', path.join(files, 'runs.tar.gz'), '-C', src, 'done-a', 'div-b', 'started-c', 'div-d.replaced-1', 'div-e', 'div-f', 'done-g']).status, 0);
    const repo = path.join(work, 'repo');
    const dest = path.join(repo, 'data/experiments/gpu');
    write(dest, { 'logs/.keep': '', 'div-e/diverged.json': '{"committed":true}', 'div-f/diverged.json': '{"step":10}', 'div-f/metrics.jsonl.gz': 'old', 'done-g/result.json': '{"committed":true}' });

    const r = spawnSync('bash', [path.join(SCRIPTS, 'unpack-runs.sh'), files, 'call-1'], { cwd: repo, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^new: data\/experiments\/gpu\/done-a$/m);
    assert.match(r.stdout, /^new, diverged: data\/experiments\/gpu\/div-b$/m);
    assert.match(r.stdout, /^new, replacing a diverged record: data\/experiments\/gpu\/div-f$/m);
    assert.deepEqual(fs.readdirSync(dest).sort(), ['div-b', 'div-e', 'div-f', 'done-a', 'done-g', 'logs']);
    assert.deepEqual(fs.readdirSync(path.join(dest, 'div-f')).sort(), ['config.json', 'metrics.jsonl.gz', 'result.json'], 'the record is gone (git keeps it), the finished run in its place');
    assert.equal(fs.readFileSync(path.join(dest, 'div-f', 'result.json'), 'utf8'), '{"retrained":true}');
    assert.equal(fs.readFileSync(path.join(dest, 'done-g', 'result.json'), 'utf8'), '{"committed":true}', 'a committed finished run is never overwritten');
    assert.deepEqual(fs.readdirSync(path.join(dest, 'div-b')).sort(), ['config.json', 'diverged.json', 'metrics.jsonl.gz'], 'no checkpoint, metrics gzipped');
    assert.equal(zlib.gunzipSync(fs.readFileSync(path.join(dest, 'div-b', 'metrics.jsonl.gz'))).toString(), metrics);
    assert.equal(fs.readFileSync(path.join(dest, 'div-e', 'diverged.json'), 'utf8'), '{"committed":true}', 'a committed folder is never overwritten');
    assert.equal(fs.readFileSync(path.join(dest, 'logs', 'call-1.txt'), 'utf8'), 'line 1\nline 2\n');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
