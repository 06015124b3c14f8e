// `mla experiment`: one-line errors for a bad experiment or scale, and `plan` then `run` then `plan` agree with the
// run folders (pending → done, and a second run reuses them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', '..', 'cli', 'main.js');
const mla = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' } });

test('mla experiment: bad names are one line; plan and run agree with the folders', () => {
  const bad = mla('experiment', 'run', '--experiment', 'ropes', '--scale', 'smoke');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--experiment 'ropes' is not an experiment; choose from lrSweep, noRope, rope, scaling, studyLr, rankSweep, ropeSplit, timing, decodeCost, latentQuant, convert/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const badScale = mla('experiment', 'plan', '--experiment', 'rope', '--scale', 'huge');
  assert.equal(badScale.status, 2);
  assert.match(badScale.stderr, /--scale 'huge' is not a scale; choose from smoke, small, gpu, paper/);

  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-exp-cli-'));
  try {
    const args = ['--experiment', 'noRope', '--scale', 'smoke', '--seeds', '0', '--presets', 'tiny-mqa-norope', '--runs-dir', runs, '--json'];
    const before = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.deepEqual(before.map((r: { state: string }) => r.state), ['pending']);
    const run = mla('experiment', 'run', ...args);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).experiments, [{ experiment: 'noRope', finished: 1, pending: 0, seconds: JSON.parse(run.stdout).experiments[0].seconds }]);
    const after = JSON.parse(mla('experiment', 'plan', ...args).stdout);
    assert.equal(after[0].state, 'done');
    assert.equal(after[0].dir, before[0].dir);
    assert.ok(after[0].valPerplexity > 1);
    const again = mla('experiment', 'run', ...args);
    assert.match(again.stderr, /reusing /);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
