// The design-space sweeps as data: every config validates, sizes come from the cost functions, and the gpu
// scale's points are the ones the issue names (d_c 64/128/256/341 at d_model 512; RoPE 0/8/16/32 of 32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../lib/config/validate';
import { kvCacheBytes, kvElementsPerTokenPerLayer } from '../../lib/costs/kv-cache';
import { paramCount } from '../../lib/costs/params';
import { defaultCacheMode } from '../../lib/costs/cache-modes';
import { DesignRow, designRows, designSpecs, paretoFront, rankSweep, rankSweepFigure, ropeSplitSweep } from '../../lib/notebook/design-space';
import { canonical, runDirFor } from '../../lib/experiments/runs';
import type { RunResult, RunSpec } from '../../lib/experiments/runs';
import { checkExperimentName, experimentSpecs, modelOf } from '../../lib/experiments/runner';
import { resolveConfig } from '../../lib/config/presets';
import { SCALES as SCALES_BY_NAME } from '../../lib/notebook/scale';

const SCALES = ['smoke', 'small', 'gpu'] as const;

for (const scale of SCALES) {
  for (const make of [rankSweep, ropeSplitSweep]) {
    test(`${make.name}(${scale}): configs validate, sizes are the cost functions', ids are unique`, () => {
      const s = make(scale);
      assert.ok(s.points.length > 5);
      assert.equal(new Set(s.points.map((p) => p.id)).size, s.points.length);
      for (const p of s.points) {
        validateConfig(p.config);
        assert.equal(p.params, paramCount(p.config).total);
        assert.equal(p.kvCacheMode, defaultCacheMode(p.config));
        assert.equal(p.kvElementsPerTokenPerLayer, kvElementsPerTokenPerLayer(p.config, p.kvCacheMode));
        assert.equal(p.kvBytesPerToken, kvCacheBytes(p.config, p.kvCacheMode, 'fp32').perToken);
        assert.ok(p.train.tokens > 0);
      }
    });
  }
}

test('gpu rank sweep: the issue’s ranks and KV heads at d_model 512, with pinned KV bytes', () => {
  const s = rankSweep('gpu');
  const by = (f: string) => s.points.filter((p) => p.family === f);
  assert.deepEqual(by('mla-kv-rank').map((p) => p.config.kvRank), [64, 128, 256, 341]);
  assert.deepEqual(by('mla-q-rank').map((p) => p.config.qRank), [64, 128, 512]);
  assert.deepEqual(by('gqa').map((p) => p.config.nKvHeads), [1, 2, 4, 8]);
  assert.deepEqual(by('mha').map((p) => p.config.nKvHeads), [16]);
  // (kvRank + 16 RoPE-key dims) × 8 layers × 4 bytes; GQA 2·Hk·32 × 8 × 4.
  assert.deepEqual(by('mla-kv-rank').map((p) => p.kvBytesPerToken), [2560, 4608, 8704, 11424]);
  assert.deepEqual(by('gqa').map((p) => p.kvBytesPerToken), [2048, 4096, 8192, 16384]);
  assert.equal(by('mha')[0].kvBytesPerToken, 32768);
  assert.equal(by('mla-kv-rank')[3].params, paramCount(by('mla-kv-rank')[3].config).total);
});

test('gpu RoPE split: 0, 8, 16, 32 of 32 for every family; the decoupled kinds’ 32 has no no-RoPE part', () => {
  const s = ropeSplitSweep('gpu');
  const dims = (f: string) => s.points.filter((p) => p.family === f).map((p) => p.value);
  assert.deepEqual(dims('mla-rope'), [0, 8, 16, 32]);
  assert.deepEqual(dims('mha-decoupled-rope'), [0, 8, 16, 32]);
  assert.deepEqual(dims('mha-partial-rope'), [0, 8, 16, 32]);
  const all = s.points.find((p) => p.id === 'mla-rope32')!;
  assert.equal(all.config.ropeDim, 32);
  assert.equal(all.kvElementsPerTokenPerLayer, 341 + 32, 'the latent and a 32-dim shared key');
  assert.equal(s.points.find((p) => p.id === 'mha-decoupled-rope32')!.kvElementsPerTokenPerLayer, 32 + 16 * 32, 'one shared key, per-head values');
  const zero = s.points.find((p) => p.id === 'mla-rope0')!;
  assert.equal(zero.config.positions, 'learned');
  const partial = s.points.find((p) => p.id === 'mha-partial-rope8')!;
  assert.equal(partial.config.ropeDim, 8);
  assert.equal(s.points.find((p) => p.id === 'mla-rope8')!.kvElementsPerTokenPerLayer, 341 + 8);
});

test('the sweeps are defined at smoke, small and gpu only', () => {
  assert.throws(() => rankSweep('paper'), /smoke, small and gpu scale, not 'paper'/);
});

test('paretoFront keeps the points nothing beats on cost and loss', () => {
  const pts = [
    { c: 1, l: 10 }, { c: 2, l: 8 }, { c: 2, l: 9 }, { c: 3, l: 8.5 }, { c: 4, l: 5 }, { c: 5, l: 5 },
  ];
  assert.deepEqual(paretoFront(pts, (p) => p.c, (p) => p.l), [pts[0], pts[1], pts[4]]);
});

test('designRows averages seeds per point; the figure has a Pareto trace and a log x axis', () => {
  const s = rankSweep('smoke');
  const fake = (i: number, seed: number, ppl: number) => ({ spec: { preset: s.points[i].preset, seed }, config: s.points[i].config, runDir: `${i}-${seed}`, valPerplexity: ppl }) as unknown as RunResult;
  const rows = designRows(s, [fake(0, 0, 100), fake(0, 1, 110), fake(4, 0, 90)]);
  assert.deepEqual(rows.map((r) => r.id), [s.points[0].id, s.points[4].id]);
  assert.equal(rows[0].valPplMean, 105);
  assert.ok(Math.abs(rows[0].valPplSd - Math.sqrt(50)) < 1e-12);
  assert.deepEqual([rows[0].valPpls, rows[0].seedIds], [[100, 110], [0, 1]]);
  const fig = rankSweepFigure(rows as DesignRow[], 't');
  assert.ok(fig.data.some((t) => t.name === 'Pareto front'));
  // Every run is drawn at its point, on both panels: 3 runs, twice.
  const rings = fig.data.filter((t) => String(t.name).endsWith('(each seed)'));
  assert.deepEqual(rings.flatMap((t) => t.y as number[]).sort((a, b) => a - b), [90, 90, 100, 100, 110, 110]);
  assert.ok(rings.flatMap((t) => t.text as string[]).includes(`${s.points[0].id} seed 1`));
  assert.equal((fig.layout!.xaxis as { type: string }).type, 'log');
});

test('each kind trains at the scale’s own learning rate where it has one', () => {
  const s = structuredClone(SCALES_BY_NAME.small);
  s.lr = { mla: 1e-3, gqa: 3e-3 };
  const sw = rankSweep(s);
  for (const p of sw.points) {
    const want = p.config.attention === 'mla' ? 1e-3 : p.config.attention === 'gqa' ? 3e-3 : s.rope.train.lr;
    assert.equal(p.train.lr, want, p.id);
  }
  assert.equal(sw.data, s.data);
});

test('designSpecs: each model once per seed, the points asked for, an unknown point named with the ids', () => {
  const split = ropeSplitSweep('gpu');
  const specs = designSpecs(split);
  // 12 points, 11 models (MHA decoupled 0/32 and partial 0/32 are both the learned-position MHA) × 3 seeds.
  assert.equal(split.points.length, 12);
  assert.equal(specs.length, 11 * 3);
  const models = new Set(specs.map((sp) => canonical({ c: resolveConfig(sp.preset, sp.overrides ?? {}), seed: sp.seed })));
  assert.equal(models.size, specs.length);
  assert.deepEqual(designSpecs(split, { points: ['mla-rope8'], seeds: [1] }).map((sp) => [sp.preset, sp.overrides, sp.seed]), [['35m-mla-rope', { ropeDim: 8 }, 1]]);
  assert.equal(designSpecs(rankSweep('gpu'), { points: ['35m-gqa-rope'] }).length, 4 * 3);
  assert.throws(() => designSpecs(split, { points: ['mla-rope4'] }), /points = "mla-rope4".*mla-rope0, .*mha-partial-rope32/);
});

test('a design point never overrides a value to what its preset already has, so one model has one spec', () => {
  for (const sw of [rankSweep('gpu'), ropeSplitSweep('gpu'), rankSweep('smoke'), ropeSplitSweep('small')]) {
    for (const p of sw.points) {
      const own = resolveConfig(p.preset) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(p.overrides)) assert.notEqual(own[k], v, `${sw.name} ${p.id}: ${k}`);
    }
  }
  // The preset's own rank (341) and RoPE split (16 of 32) are the plain preset.
  assert.deepEqual(rankSweep('gpu').points.find((p) => p.id === 'mla-kv341')!.overrides, {});
  assert.deepEqual(ropeSplitSweep('gpu').points.find((p) => p.id === 'mla-rope16')!.overrides, {});
});

test('the gpu design budget: 4.1M tokens and 3 seeds; the scaling run’s 35M models are the same run folders', () => {
  const s = SCALES_BY_NAME.gpu;
  const specs = experimentSpecs(s, 'ropeSplit');
  assert.ok(specs.every((sp) => sp.train.tokens === 4_096_000));
  assert.deepEqual([...new Set(specs.map((sp) => sp.seed))], [0, 1, 2]);
  assert.deepEqual(experimentSpecs(s, 'rankSweep'), designSpecs(rankSweep(s)));
  const dir = (sp: RunSpec) => runDirFor(sp, resolveConfig(sp.preset, sp.overrides ?? {}), 'hash', '/runs');
  const scaling = experimentSpecs(s, 'scaling', { presets: ['35m-mha-norope', '35m-mla-norope'], seeds: [0] }).map(dir);
  const split = experimentSpecs(s, 'ropeSplit', { presets: ['35m-mha-norope', '35m-mla-norope'], seeds: [0] }).map(dir);
  assert.deepEqual(split.sort(), scaling.sort());
  // GQA takes a rate too (not swept; MHA's and MQA's, which agree), never the trainer's default.
  assert.ok(rankSweep(s).points.filter((p) => p.family === 'gqa').every((p) => p.train.lr === s.lr!.gqa && s.lr!.gqa === s.lr!.mha && s.lr!.mha === s.lr!.mqa));
  assert.doesNotThrow(() => checkExperimentName('rankSweep'));
  assert.equal(modelOf(specs.find((sp) => sp.overrides?.ropeDim === 8)!), '35m-mla-rope ropeDim=8');
});
