// mla bench decode-grid: a decode-grid.sh folder read back as one table, ours beside PyTorch, the crossover from
// the three MLA modes' records together, cut-short records kept, damaged files named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizeDecodeGrid } from '../../lib/bench/decode-grid-summary';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const spread = (median: number) => ({ n: 4, median, min: median * 0.9, max: median * 1.2, p25: median * 0.95, p75: median * 1.05 });
const bw = { bytes: 1, method: 'in-place write', msPerCopy: spread(1), gbPerS: 100, hostGbPerS: 100, gbPerSMedian: 90, kernelTimed: null };
function row(cache: string, context: number, ms: number, attentionMs = 0, sync?: 'end', stepFlops?: number) {
  return {
    ...(sync ? { sync } : {}),
    ...(stepFlops ? { stepFlops } : {}),
    cache, context, batch: 16, msPerStep: spread(ms), msPerToken: ms / 16, kernelsPerStep: 100, dispatchesPerStep: 50, gpuDispatchesPerStep: 60,
    kernelTimes: [{ kernel: 'MlaDecodeAttention2', ms: attentionMs, calls: 8 }, { kernel: 'MlaDecodeLinear', ms: 1, calls: 40 }],
    fusedPerStep: { cacheWrite: 16, attention: 8 }, graphs: null, stepBytes: { weights: 1, cache: 1, total: 2 }, floorMs: 0.5, ratioToFloor: ms / 0.5,
    cacheBytes: 1, prefillMs: 1, prefill: 'tiled',
  };
}
function record(mode: string, rows: object[], complete: boolean) {
  return { kind: 'decode', settings: { preset: 'p-mla', modes: [mode], batch: 16 }, results: { copyBandwidth: bw, rows, crossover: null, complete } };
}

test('summarizeDecodeGrid: cells beside PyTorch, the crossover across the mode records, cut-short records and PyTorch-only points', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-grid-'));
  try {
    const w = (f: string, x: object) => fs.writeFileSync(path.join(dir, f), JSON.stringify(x));
    w('ours-p-mla-b16-absorbed.json', record('absorbed', [row('absorbed', 1024, 12, 3), row('absorbed', 4096, 9, 2, 'end', 4.5e10)], true));
    w('ours-p-mla-b16-latent.json', record('latent', [row('latent', 1024, 11), row('latent', 4096, 25)], true));
    w('ours-p-mla-b16-full.json', record('full', [row('full', 1024, 8), { cache: 'full', context: 4096, batch: 16, error: 'too big' }], false));
    const torch = [['absorbed', 1024, 10], ['absorbed', 4096, 30], ['latent', 1024, 4], ['full', 1024, 5], ['full', 16384, 27]];
    fs.writeFileSync(path.join(dir, 'torch-decode.jsonl'), torch.map(([cache, ctx, ms]) => JSON.stringify({ preset: 'p-mla', cache, batch: 16, promptLen: ctx, msPerToken: spread(ms as number) })).join('\n') + '\n');
    const s = summarizeDecodeGrid(dir);
    assert.equal(s.cells.length, 5, 'the error row is no cell');
    const abs4k = s.cells.find((c) => c.cache === 'absorbed' && c.context === 4096)!;
    assert.equal(abs4k.torchMs, 30);
    assert.ok(Math.abs(abs4k.oursOverTorch! - 9 / 30) < 1e-12);
    assert.equal(abs4k.attentionMs, 2, 'only the decode attention kernels');
    assert.equal(abs4k.gpuDispatchesPerStep, 60);
    assert.equal(abs4k.sync, 'end');
    assert.ok(Math.abs(abs4k.tflops! - 5) < 1e-12, '4.5e10 FLOPs in 9 ms: 5 TFLOP/s');
    assert.equal(s.cells.find((c) => c.cache === 'latent' && c.context === 1024)!.tflops, null, 'no stepFlops and no config in the record');
    assert.equal(s.cells.find((c) => c.cache === 'absorbed' && c.context === 1024)!.sync, 'step', 'a row from before the field read its logits every step');
    assert.equal(s.cells.find((c) => c.cache === 'latent' && c.context === 4096)!.torchMs, null);
    assert.equal(s.cells.find((c) => c.cache === 'full')!.complete, false);
    // At 1k all three were measured: absorbed 12 against min(11, 8) → 1.5; 4k has no full, so it does not count.
    assert.deepEqual(s.crossovers.map((x) => [x.preset, x.batch, x.context, x.ratios.map((q) => q.context)]), [['p-mla', 16, null, [1024]]]);
    assert.ok(Math.abs(s.crossovers[0].ratios[0].absorbedOverBest - 1.5) < 1e-12);
    assert.deepEqual(s.torchOnly.map((t) => `${t.cache}@${t.context}`), ['full@16384']);
    assert.deepEqual(s.errors, [{ preset: 'p-mla', cache: 'full', batch: 16, context: 4096, error: 'too big', record: 'ours-p-mla-b16-full.json' }], 'a failed cell is listed, not dropped');
    assert.ok(s.cells.every((c) => c.replayed === null), 'graphs: null in every row');
    assert.deepEqual(s.records.map((r) => [r.file, r.complete]), [['ours-p-mla-b16-absorbed.json', true], ['ours-p-mla-b16-full.json', false], ['ours-p-mla-b16-latent.json', true]]);
    fs.writeFileSync(path.join(dir, 'ours-broken.json'), '{"kind": "dec');
    assert.throws(() => summarizeDecodeGrid(dir), /ours-broken\.json is not JSON; the record is damaged/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => summarizeDecodeGrid(path.join(os.tmpdir(), 'no-such-grid-folder')), /does not exist; pass the folder decode-grid\.sh wrote/);
});

test('mla bench decode-grid on the committed H100 step-graph grid: replayed steps per cell, and the cells the device failed listed', () => {
  const dir = path.join(ROOT, 'data', 'bench', 'device', 'decode-graphs-2026-12-07-h100', 'grid-final');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode-grid', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^35m-mla-rope\s+absorbed\s+1\s+512\s.*\s131\/141\s/m);
  assert.match(r.stdout, /^failed: 35m-mla-rope latent B16 @16384 \(ours-35m-mla-rope-b16-latent\.json\): the GPU device reported an error/m);
});

test('mla bench decode-grid on a committed H200 folder: 12 cells, each beside PyTorch', () => {
  const dir = path.join(ROOT, 'data', 'bench', 'device', 'decode-variants-2026-12-04c-h200', 'split1');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode-grid', dir, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.cells.length, 12);
  assert.ok(s.cells.every((c: { torchMs: number | null; oursOverTorch: number }) => c.torchMs !== null && c.oursOverTorch > 0));
  assert.equal(s.crossovers.length, 1);
  assert.ok(s.cells.every((c: { sync: string }) => c.sync === 'step'), 'timed before --sync existed');
  // Records from before stepFlops: the FLOPs come from the record's config; batch-1 decode is far from compute-bound.
  assert.ok(s.cells.every((c: { tflops: number | null }) => c.tflops !== null && c.tflops > 0 && c.tflops < 5), JSON.stringify(s.cells.map((c: { tflops: number }) => c.tflops)));
  const abs = s.cells.filter((c: { cache: string }) => c.cache === 'absorbed').sort((a: { context: number }, b: { context: number }) => a.context - b.context);
  assert.ok(abs[abs.length - 1].tflops > abs[0].tflops, 'more arithmetic per step at the longer context');
  const none = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli', 'main.js'), 'bench', 'decode-grid'], { encoding: 'utf8' });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give one folder/);
});
