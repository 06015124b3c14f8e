// The design studies of notebooks 09 and 10 (lib/experiments/design-studies.ts): their sources are the design
// sweeps' own run folders at every scale; at the smoke scale on the CPU a study is written once and reused, its
// fp32 row is its own reference, a stopped study resumes to the same rows, a full-rank conversion of a
// learned-position MHA scores what the source scores, and a finished source without a checkpoint is one line
// whose command, run as printed, trains that folder again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config/presets';
import { quantizedKvCacheBytes } from '../../lib/costs/kv-cache';
import { convertSpec, designStudyStatus, latentQuantSpec, runDesignStudy, StudyError, studySources } from '../../lib/experiments/design-studies';
import type { ConvertStudyResult, LatentQuantResult } from '../../lib/experiments/design-studies';
import { EXPERIMENT_NAMES, experimentSpecs, runStatuses, scaleRunsDir } from '../../lib/experiments/runner';
import { runDirFor } from '../../lib/experiments/runs';
import type { RunSpec } from '../../lib/experiments/runs';
import { designSourceSpec } from '../../lib/notebook/design-space';
import { scaleStudy } from '../../lib/notebook/experiment';
import { projectRoot } from '../../lib/notebook/paths';
import { scale, SCALES } from '../../lib/notebook/scale';
import type { Scale } from '../../lib/notebook/scale';
import { CHECKPOINT_DIR } from '../../lib/train/run-dir';
import { useCpu } from '../helpers/models';

const MAIN = path.join(__dirname, '..', '..', 'cli', 'main.js');
const mla = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, MLA_BACKEND: 'cpu' } });

const folderOf = (s: Scale, sp: RunSpec, runsDir = '/runs') => runDirFor(sp, resolveConfig(sp.preset, sp.overrides ?? {}), 'corpus', runsDir);

/** The folder names of every run of the scale's rank sweep and RoPE split in `runsDir`. */
async function designSweepFolders(s: Scale, runsDir: string): Promise<Set<string>> {
  const statuses = await runStatuses([...experimentSpecs(s, 'rankSweep'), ...experimentSpecs(s, 'ropeSplit')], { runsDir });
  return new Set(statuses.map((x) => path.basename(x.dir)));
}

test('the studies’ sources are the design sweeps’ plain presets at seed 0 (and at gpu the scaling run’s 35M folders)', () => {
  for (const name of ['smoke', 'small', 'gpu'] as const) {
    const s = scale(name, {});
    const sweeps = new Set([...experimentSpecs(s, 'rankSweep'), ...experimentSpecs(s, 'ropeSplit')].map((sp) => folderOf(s, sp)));
    for (const spec of [latentQuantSpec(s), convertSpec(s)]) {
      for (const src of studySources(spec)) {
        assert.equal(src.spec.seed, 0);
        assert.deepEqual(src.spec, designSourceSpec(s, src.spec.preset, 0));
        assert.ok(sweeps.has(folderOf(s, src.spec)), `${name} ${spec.study} ${src.role}: ${src.spec.preset} is no design sweep's folder`);
      }
    }
  }
  const g = SCALES.gpu;
  const scaling = new Set(experimentSpecs(g, 'scaling').map((sp) => folderOf(g, sp)));
  for (const p of ['35m-mha-norope', '35m-mla-norope']) assert.ok(scaling.has(folderOf(g, designSourceSpec(g, p, 0))), p);
  // The gpu studies as the notebooks had them: 128 windows of 1024 tokens, fp32 + 3 formats × 3 groups; five ranks.
  const q = latentQuantSpec(g);
  assert.deepEqual([q.seqLen, q.windows, q.formats.length], [1024, 128, 10]);
  assert.deepEqual(q.formats[0], { format: 'none', groupSize: 1 });
  const c = convertSpec(g);
  assert.deepEqual(c.kvRanks, [64, 128, 256, 341, 512]);
  assert.deepEqual([c.fineTune.kvRank, c.fineTune.tokens, c.fineTune.lr], [128, 4_096_000, g.lr!.mla]);
});

/** The smoke scale with a few steps per source, for the CPU. */
function tinyScale(): Scale {
  const s = scale('smoke', {});
  const train = { tokens: 4 * 2 * 32, batchSize: 2, seqLen: 32, accumSteps: 1, evalEvery: 2, evalTokens: 128, checkpointEvery: 0 };
  s.rope = { ...s.rope, train };
  s.noRope = { ...s.noRope, train };
  return s;
}

test('latentQuant at smoke: written once, fp32 row is the reference (delta 0, = the forward pass), reused; a stopped study resumes to the same rows', async () => {
  await useCpu();
  const s = tinyScale();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-study-q-'));
  try {
    const first = await runDesignStudy(s, 'latentQuant', { runsDir });
    const r = first.result as LatentQuantResult;
    assert.ok(r, 'finished');
    for (const f of ['spec.json', 'rows.jsonl', 'result.json']) assert.ok(fs.existsSync(path.join(first.dir, f)), f);
    const spec = latentQuantSpec(s);
    assert.equal(r.rows.length, spec.sources.length * spec.formats.length);
    assert.deepEqual(first.units, { done: r.rows.length, total: r.rows.length });
    // The sources are the design sweeps' folders (their real names, corpus hash included) in this runs directory.
    const sweepDirs = await designSweepFolders(s, runsDir);
    assert.deepEqual(r.sources.map((x) => x.preset), spec.sources.map((sp) => sp.preset));
    for (const x of r.sources) assert.ok(sweepDirs.has(x.folder) && fs.existsSync(path.join(runsDir, x.folder, 'result.json')), x.folder);
    for (const model of spec.sources.map((sp) => sp.preset)) {
      const rows = r.rows.filter((x) => x.model === model);
      const fp32 = rows.find((x) => x.format === 'fp32')!;
      assert.equal(fp32.delta_vs_fp32_cache, 0);
      assert.equal(fp32.group_size, null);
      // The absorbed decode with an fp32 cache computes the forward pass's perplexity (float rounding apart).
      assert.ok(Math.abs(fp32.val_ppl - fp32.forward_val_ppl) / fp32.forward_val_ppl < 1e-4, `${fp32.val_ppl} vs ${fp32.forward_val_ppl}`);
      for (const x of rows) {
        assert.equal(x.tokens, spec.windows * spec.seqLen);
        assert.equal(x.delta_vs_fp32_cache, x.val_ppl - fp32.val_ppl);
        const bytes = quantizedKvCacheBytes(resolveConfig(model), 'absorbed', { format: x.format === 'fp32' ? 'none' : x.format, groupSize: x.group_size ?? 1 });
        assert.equal(x.bytes_per_token, bytes.perToken);
      }
      const int8 = rows.find((x) => x.format === 'int8' && x.group_size === 16)!;
      assert.ok(Math.abs(int8.delta_vs_fp32_cache) < 0.01 * fp32.val_ppl, 'int8 costs under 1% of perplexity');
      assert.ok(rows.find((x) => x.format === 'int4')!.bytes_per_token < int8.bytes_per_token);
    }

    const lines: string[] = [];
    const again = await runDesignStudy(s, 'latentQuant', { runsDir, log: (l) => lines.push(l) });
    assert.equal(again.result?.finishedAt, r.finishedAt, 'reused, not recomputed');
    assert.ok(lines.some((l) => /reusing /.test(l)));
    assert.ok(!lines.some((l) => /\(\d+\.\d s\)$/.test(l)), 'no unit was computed again');

    // Recomputed (force), stopped after three units, then resumed: the same rows as the first time.
    let units = 0;
    const cut = await runDesignStudy(s, 'latentQuant', { runsDir, force: true, log: (l) => void (/ s\)$/.test(l) && units++), shouldStop: () => units >= 3 });
    assert.equal(cut.result, null);
    assert.equal(cut.units.done, 3);
    assert.match(cut.stopMessage ?? '', /stopped after 3 of 14 units; rerun to resume/);
    const st = await designStudyStatus(s, 'latentQuant', { runsDir });
    assert.equal(st.result, undefined);
    assert.equal(st.units.done, 3);
    // A line computed from other weights (a source trained again since) is stale: computed again, the others kept.
    const rowsFile = path.join(cut.dir, 'rows.jsonl');
    const kept = fs.readFileSync(rowsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    kept[1].weights = 'another training';
    fs.writeFileSync(rowsFile, kept.map((l) => JSON.stringify(l) + '\n').join(''));
    let computed = 0;
    const resumed = await runDesignStudy(s, 'latentQuant', { runsDir, log: (l) => void (/ s\)$/.test(l) && computed++) });
    assert.equal(computed, 14 - 2);
    assert.deepEqual((resumed.result as LatentQuantResult).rows, r.rows);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('convert at smoke: full-rank conversion of the learned-position MHA is exact, the fine-tunes start from the conversion and the source', async () => {
  await useCpu();
  const s = tinyScale();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-study-c-'));
  try {
    const report = await runDesignStudy(s, 'convert', { runsDir });
    const r = report.result as ConvertStudyResult;
    const spec = convertSpec(s);
    const d = resolveConfig('tiny-mha-norope').dModel;
    assert.deepEqual(r.conversion.map((x) => `${x.source}:${x.kv_rank}`), ['norope', 'rope'].flatMap((k) => spec.kvRanks.map((k2) => `${k}:${k2}`)));
    const full = r.conversion.find((x) => x.source === 'norope' && x.kv_rank === d)!;
    assert.equal(full.exact, true);
    assert.ok(Math.abs(full.val_ppl - full.source_val_ppl) / full.source_val_ppl < 1e-4, `${full.val_ppl} vs ${full.source_val_ppl}`);
    assert.ok(r.conversion.filter((x) => x.source === 'rope').every((x) => x.rope_dims > 0 && x.shared_key_residual !== null));

    const models = [...new Set(r.fineTune.map((x) => x.model))];
    assert.deepEqual(models, [`converted (d_c=${d / 4}) + fine-tune`, 'MHA source trained on (no conversion)', 'MLA from scratch']);
    const curve = (m: string) => r.fineTune.filter((x) => x.model === m);
    const conv = r.conversion.find((x) => x.source === 'norope' && x.kv_rank === d / 4)!;
    assert.deepEqual(curve(models[0])[0], { model: models[0], tokens: 0, val_ppl: conv.val_ppl });
    assert.equal(curve(models[1])[0].val_ppl, full.source_val_ppl);
    for (const m of models) assert.equal(curve(m).at(-1)!.tokens, spec.fineTune.tokens, `${m} trains the design budget's tokens`);
    // The fine-tunes keep their curves and drop their weights.
    for (const f of ['fine-tune-to-mla-kv16', 'fine-tune-mha-continued']) {
      assert.ok(fs.existsSync(path.join(report.dir, f, 'metrics.jsonl')), f);
      assert.ok(!fs.existsSync(path.join(report.dir, f, CHECKPOINT_DIR)), `${f} has no checkpoint`);
    }
    assert.equal((await runDesignStudy(s, 'convert', { runsDir })).result?.finishedAt, r.finishedAt);
    // The scratch MLA's weights are never loaded (only its curve): a folder without its checkpoint is no obstacle.
    const scratch = r.sources.find((x) => x.role === 'scratch')!;
    fs.rmSync(path.join(runsDir, scratch.folder, CHECKPOINT_DIR), { recursive: true });
    const st = await designStudyStatus(s, 'convert', { runsDir });
    assert.deepEqual(st.sources.map((x) => [x.role, x.loads, x.checkpoint]), [['norope', true, true], ['rope', true, true], ['scratch', false, false]]);
    const again = await runDesignStudy(s, 'convert', { runsDir, force: true });
    assert.deepEqual((again.result as ConvertStudyResult).fineTune.filter((x) => x.model === 'MLA from scratch'), curve(models[2]));
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('a finished source without a checkpoint is one StudyError line naming the folder; the study is left as it was', async () => {
  await useCpu();
  const s = tinyScale();
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-study-e-'));
  try {
    const done = await runDesignStudy(s, 'latentQuant', { runsDir });
    const src = done.result!.sources[0];
    fs.rmSync(path.join(runsDir, src.folder, CHECKPOINT_DIR), { recursive: true });
    const err = await runDesignStudy(s, 'latentQuant', { runsDir, force: true }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StudyError);
    assert.doesNotMatch(err.message, /\n/);
    assert.ok(err.message.includes(path.join(runsDir, src.folder)), err.message);
    assert.match(err.message, /finished but has no checkpoint on this machine.*train it again on this machine: mla experiment run --experiment rope --scale smoke --presets tiny-mla-rope --seeds 0 --force; then rerun: mla experiment run --experiment latentQuant --scale smoke$/);
    assert.ok(fs.existsSync(path.join(done.dir, 'result.json')), 'the finished study was not moved aside');
    // Reading it needs no checkpoint.
    assert.equal((await runDesignStudy(s, 'latentQuant', { runsDir })).result?.finishedAt, done.result!.finishedAt);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('mla experiment run --experiment latentQuant: the missing-checkpoint line, its command as printed, then the study', { timeout: 300_000 }, () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-study-cli-'));
  try {
    const args = ['--experiment', 'latentQuant', '--scale', 'smoke', '--runs-dir', runsDir];
    const first = mla('experiment', 'run', ...args, '--json');
    assert.equal(first.status, 0, first.stderr);
    const summary = JSON.parse(first.stdout).experiments[0];
    assert.deepEqual([summary.experiment, summary.finished, summary.pending], ['latentQuant', 14, 0]);
    const rope = fs.readdirSync(runsDir).find((n) => n.startsWith('tiny-mla-rope-seed0-'))!;
    fs.rmSync(path.join(runsDir, rope, CHECKPOINT_DIR), { recursive: true });

    const refused = mla('experiment', 'run', ...args, '--force');
    assert.equal(refused.status, 1);
    // The backend line, then the error in one line.
    assert.deepEqual(refused.stderr.trim().split('\n').map((l) => l.split(':')[0]), ['backend', 'mla'], refused.stderr);
    assert.doesNotMatch(refused.stderr, /unexpected error|\n\s+at /);
    assert.ok(refused.stderr.includes(path.join(runsDir, rope)));
    const fix = /train it again on this machine: mla (experiment run .*?); then rerun/.exec(refused.stderr)![1];
    // The command as printed (plus this test's runs folder) trains that very folder again.
    const retrained = mla(...fix.split(' '), '--runs-dir', runsDir);
    assert.equal(retrained.status, 0, retrained.stderr);
    assert.match(retrained.stderr, new RegExp(`training tiny-mla-rope seed 0 → ${runsDir}/${rope}`));
    assert.ok(fs.existsSync(path.join(runsDir, rope, CHECKPOINT_DIR)));
    const plan = JSON.parse(mla('experiment', 'plan', ...args, '--json').stdout);
    assert.deepEqual(plan.map((x: { state: string }) => x.state), ['done', 'done', 'done']);
    assert.equal(plan[0].checkpoint, true);
    assert.equal(mla('experiment', 'run', ...args, '--force').status, 0);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});

test('mla experiment: an unknown experiment is refused in one line that lists the studies', () => {
  const bad = mla('experiment', 'run', '--experiment', 'latentQuants', '--scale', 'smoke');
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.ok(bad.stderr.includes(`--experiment 'latentQuants' is not an experiment; choose from ${EXPERIMENT_NAMES.join(', ')}`));
  assert.ok(EXPERIMENT_NAMES.includes('latentQuant') && EXPERIMENT_NAMES.includes('convert'));
});

test('scaleStudy at gpu on the cpu backend computes nothing: the committed study, or the GPU command and the sources', async () => {
  await useCpu();
  const s = scale('gpu', {});
  const sweeps = await designSweepFolders(s, scaleRunsDir(s, projectRoot()));
  for (const name of ['latentQuant', 'convert'] as const) {
    const t0 = Date.now();
    const r = await scaleStudy(s, name, { env: {}, log: () => {} });
    assert.ok(Date.now() - t0 < 20_000, 'read, not computed');
    assert.equal(r.sources.length, name === 'latentQuant' ? 2 : 3);
    for (const x of r.sources) assert.ok(sweeps.has(path.basename(x.dir)), `${name}: ${x.dir} is no design sweep folder`);
    if (r.result) {
      assert.equal(r.result.study, name);
      assert.equal(r.command, null);
    } else {
      assert.equal(r.command, `mla experiment run --experiment ${name} --scale gpu --backend webgpu`);
      assert.ok(r.message?.includes(r.command!) && r.sources.every((x) => r.message!.includes(path.basename(x.dir))), r.message ?? '');
    }
  }
});
