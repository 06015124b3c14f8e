// Step graphs on the null device (lib/backend/webgpu/step-graph.ts; no GPU runs a shader there, but every command
// the backend issues is real): what a graph would dispatch one and two positions after its recording — pipeline,
// workgroups and uniform bytes, dispatch by dispatch — must equal what eager steps at those positions dispatched,
// in every cache mode, at batch 3 and at batch 20 (separate rotation and cache-write kernels). The bitwise check of the logits themselves is `mla bench graph-check` on a
// GPU (data/bench/device/decode-graphs-2026-12-07-h100/). Each case runs in a process of its own: a backend's
// device is set once per process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const CHILD = path.join(__dirname, '..', '..', 'helpers', 'graph-trace-child.js');

function trace(preset: string, mode: string, batch: number, env: Record<string, string> = {}): { dispatches: number; positional: number; mismatches: string[]; shaders: string[]; refused?: string } {
  const r = spawnSync(process.execPath, [CHILD, preset, mode, String(batch)], {
    encoding: 'utf8',
    env: { ...process.env, MLA_WEBGPU_NULL_DEVICE: 'on', MLA_WEBGPU_DECODE_GRAPH: 'on', ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

for (const c of [
  ['tiny-mla-rope', 'absorbed', 1],
  ['tiny-mla-rope', 'latent', 1],
  ['tiny-mla-rope', 'full', 1],
  ['tiny-mha-rope', 'kv', 1],
  ['tiny-mla-rope', 'absorbed', 3],
  // past the fused step's 16 rows: the rotation and the cache writes run as kernels of their own
  ['tiny-mla-rope', 'absorbed', 20],
  ['tiny-mha-rope', 'kv', 20],
  // learned positions: the add of their rows (lib/ops/add-positions.ts) is positional too
  ['tiny-mla-norope', 'absorbed', 1],
  ['tiny-mha-norope', 'kv', 20],
  // the pipelined tiled decode shader (auto's for absorbed MLA's folded heads at long batched caches), forced here
  ['tiny-mla-rope', 'absorbed', 3, 'piped'],
  ['tiny-mla-rope', 'absorbed', 20, 'piped'],
  ['tiny-mla-rope', 'absorbed', 3, 'piped4'],
] as [string, string, number, string?][]) {
  const [preset, mode, batch, shader] = c;
  test(`null device: a ${preset} ${mode} batch-${batch} graph${shader ? ` (MLA_WEBGPU_DECODE_SHADER=${shader})` : ''} replays exactly what eager steps dispatch one and two positions on`, () => {
    const t = trace(preset, mode, batch, shader ? { MLA_WEBGPU_DECODE_SHADER: shader } : {});
    if (shader) {
      const name = { piped: 'mlaDecodePiped', piped4: 'mlaDecodePiped4' }[shader]!;
      assert.ok(t.shaders.includes(name), `no ${name} among ${t.shaders.join(', ')}`);
    }
    assert.equal(t.refused, undefined, `the graph was refused: ${t.refused}`);
    assert.deepEqual(t.mismatches, []);
    assert.ok(t.dispatches > 10, `${t.dispatches} dispatches`);
    assert.ok(t.positional >= 2, `only ${t.positional} dispatches change uniforms with the position: the comparison would be trivial`);
  });
}

for (const [preset, mode] of [['tiny-mha-rope', 'kv'], ['tiny-mla-rope', 'absorbed']] as const) {
  test(`null device: the decodeCost study's steps (${preset} ${mode}, one token tensor fed to every step) replay without a device error`, () => {
    // The H100 run of 2026-12-07 failed here: a replay copied its input onto itself (the recorded input buffer is
    // the very tensor fed again), which Dawn's validation refuses; the null device now reports it as Dawn does.
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'helpers', 'decode-cost-child.js'), preset, mode], {
      encoding: 'utf8',
      env: { ...process.env, MLA_WEBGPU_NULL_DEVICE: 'on', MLA_WEBGPU_DECODE_GRAPH: 'on' },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: string | null; replayed: number };
    assert.equal(out.error, null);
    assert.ok(out.replayed >= 5, `only ${out.replayed} of 10 steps replayed: the case would not exercise a replay`);
  });
}
