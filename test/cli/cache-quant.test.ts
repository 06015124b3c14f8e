// `mla generate` and `mla logits` with --cache-quant, as a user runs them: the quantized latent cache decodes,
// its logits move by a small but non-zero amount from the fp32 cache's, and every flag that cannot apply is one
// line naming the flag and the fix, reported before the backend starts or the weights are read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { resolveConfig } from '../../lib/config/presets';
import { sharpParams, tokenIds, useCpu } from '../helpers/models';

const MAIN = path.resolve(__dirname, '..', '..', 'cli', 'main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-cache-quant-cli-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function mla(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' }, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user error: the exit code, exactly one `mla: …` line matching `message`, no stack, and no backend started. */
function userError(r: { code: number | null; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
  assert.doesNotMatch(r.stderr, /^backend: /m, 'refused before the backend started');
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('mla: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], message);
}

// Weights at std 0.2 (test/helpers/models.ts): the original's 0.01 init gives near-equal logits, where any
// cache, quantized or not, would pass a relative tolerance.
const mlaFile = path.join(dir, 'tiny-mla-rope.safetensors');
const mhaFile = path.join(dir, 'tiny-mha-rope.safetensors');
let ids = '';
before(async () => {
  await useCpu();
  for (const [file, preset] of [[mlaFile, 'tiny-mla-rope'], [mhaFile, 'tiny-mha-rope']]) {
    const config = resolveConfig(preset, { dropout: 0 });
    await saveCheckpoint(file, sharpParams(config, 5), config);
  }
  ids = tokenIds(1, 24, resolveConfig('tiny-mla-rope').vocabSize)[0].join(',');
});

function logits(extra: string[]): number[][] {
  const r = mla(['logits', '--checkpoint', mlaFile, '--ids', ids, '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).logits as number[][];
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((row, t) => Math.max(...row.map((x, v) => Math.abs(x - b[t][v])))));
}

// As test/quant/latent-quant.test.ts: int8 with groups of 32 moves no logit by more than 1% of the logit spread.
const INT8_REL_TOL = 0.01;

for (const cache of ['latent', 'absorbed']) {
  test(`mla logits --cache ${cache} --cache-quant: int8 within ${INT8_REL_TOL * 100}% of the spread but not equal, int4 further`, (t) => {
    const fp32 = logits(['--cache', cache]);
    const flat = fp32.flat();
    const spread = Math.max(...flat) - Math.min(...flat);
    assert.ok(spread > 1, `test logits too flat (spread ${spread})`);
    assert.deepEqual(logits(['--cache', cache, '--cache-quant', 'none']), fp32, "'none' is the fp32 cache");
    const int8 = maxAbsDiff(logits(['--cache', cache, '--cache-quant', 'int8']), fp32) / spread;
    assert.ok(int8 > 0, 'the int8 cache changed nothing: was it quantized at all?');
    assert.ok(int8 <= INT8_REL_TOL, `int8 max |Δ| / spread = ${int8}`);
    const int4 = maxAbsDiff(logits(['--cache', cache, '--cache-quant', 'int4', '--group-size', '16']), fp32) / spread;
    t.diagnostic(`spread ${spread.toFixed(1)}; max |Δ| / spread: int8 ${int8.toExponential(2)}, int4 (groups of 16) ${int4.toExponential(2)}`);
    assert.ok(int4 > int8 && int4 < 0.25, `int4 ${int4} against int8 ${int8}`);
  });
}

test('mla generate --cache-quant int8 decodes and reports its format; --cache-quant none is the plain decode', () => {
  const run = (extra: string[]) => {
    const r = mla(['generate', '--checkpoint', mlaFile, '--prompt-ids', '1,2,3', '--tokens', '6', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { tokens: number[]; cache: string; cacheQuant: unknown };
  };
  const int8 = run(['--cache-quant', 'int8', '--group-size', '16']);
  assert.equal(int8.tokens.length, 6);
  assert.equal(int8.cache, 'latent', "the model's most compact cache by default");
  assert.deepEqual(int8.cacheQuant, { format: 'int8', groupSize: 16 });
  const plain = run(['--cache', 'absorbed']);
  assert.equal(plain.cacheQuant, null);
  assert.deepEqual(run(['--cache', 'absorbed', '--cache-quant', 'none']).tokens, plain.tokens);
  const text = mla(['generate', '--checkpoint', mlaFile, '--prompt-ids', '1,2,3', '--tokens', '2', '--cache-quant', 'int4']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\(2 tokens, cache latent int4, groups of 32, [\d.]+ ms\/token\)/);
});

test('--cache-quant where there is no latent cache, or with a bad value, is one line naming the flag and the fix', () => {
  const gen = (extra: string[], file = mlaFile) => mla(['generate', '--checkpoint', file, '--prompt-ids', '1,2', '--tokens', '2', ...extra]);
  const log = (extra: string[], file = mlaFile) => mla(['logits', '--checkpoint', file, '--ids', '1,2', ...extra]);
  const noLatent = /--cache-quant int8 applies only to MLA's latent cache \(--cache latent or absorbed\); this model's attention is 'mha', which has none: drop --cache-quant$/;
  userError(gen(['--cache-quant', 'int8'], mhaFile), new RegExp(`^mla: generate: ${noLatent.source}`));
  userError(log(['--cache', 'kv', '--cache-quant', 'int8'], mhaFile), new RegExp(`^mla: logits: ${noLatent.source}`));
  userError(gen(['--cache', 'full', '--cache-quant', 'int4']), /^mla: generate: --cache-quant int4 applies only to MLA's latent cache .*, not --cache full; pass --cache latent or --cache absorbed, or drop --cache-quant$/);
  userError(log(['--cache-quant', 'int8']), /^mla: logits: --cache-quant int8 .*, not --cache none \(the default\); pass --cache latent or --cache absorbed/);
  // A cache mode the model's attention has not (MHA's kv cache on MLA) is the CLI's one line too, before any weights.
  userError(log(['--cache', 'kv']), /^mla: logits: --cache kv does not apply to this model's attention 'mla'; pass one of none, /);
  // The flags alone are checked before the checkpoint is opened: a missing file is not what is reported.
  const missing = path.join(dir, 'missing.safetensors');
  userError(gen(['--cache-quant', 'int3'], missing), /^mla: generate: --cache-quant 'int3' is not one of none, int8, int4, fp8$/);
  userError(log(['--cache', 'latent', '--cache-quant', 'int8', '--group-size', '0'], missing), /^mla: logits: --group-size must be an integer ≥ 1, got '0'$/);
  userError(log(['--cache', 'latent', '--group-size', '16'], missing), /^mla: logits: --group-size applies only with --cache-quant; add --cache-quant int8 \(or int4, fp8\), or drop --group-size$/);
});
