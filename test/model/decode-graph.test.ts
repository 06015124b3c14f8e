// DecodeGraphs (lib/model/decode-graph.ts) driven through a fake step-graph backend registered for the cpu
// backend: which steps record, which replay, that a graph is dropped (its pins released) before a step that grows a
// cache, that a replay refused mid-way re-records, that refusals in a row turn graphs off; and the graph check's
// bitwise comparison (lib/bench/graph-check.ts compareLogits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { DecodeGraphs, REFUSALS_BEFORE_OFF, cacheRoom } from '../../lib/model/decode-graph';
import { registerStepGraphs, type StepGraph, type StepGraphBackend, type StepRecording } from '../../lib/ops/step-graph';
import { compareLogits } from '../../lib/bench/graph-check';
import type { LayerCache } from '../../lib/attention/types';
import { useCpu } from '../helpers/models';

interface FakeState {
  length: number;
  caches: LayerCache[];
}

/** A fake backend: graphs refuse while `refuse` says so; a replay returns null while `replayNull` is set. */
class FakeGraphs implements StepGraphBackend {
  refuse: string | null = null;
  replayNull = false;
  made: { disposed: boolean; replays: number[] }[] = [];
  record<T>(run: () => T): { result: T; recording: StepRecording } {
    return { result: run(), recording: { dispatches: 3, unusable: null, dispose() {} } };
  }
  graph(): StepGraph | string {
    if (this.refuse) return this.refuse;
    const g = { disposed: false, replays: [] as number[] };
    this.made.push(g);
    return {
      dispatches: 3,
      replay: (shift: number) => {
        assert.ok(!g.disposed, 'replay of a disposed graph');
        if (this.replayNull) return null;
        g.replays.push(shift);
        return [tf.zeros([1, 1, 2])];
      },
      dispose: () => {
        g.disposed = true;
      },
    };
  }
}

const CAP = 8;

/** An eager step: one row more, a new buffer (CAP rows more) when the old one is full. */
function eager(ids: tf.Tensor2D, s: FakeState): { logits: tf.Tensor3D; state: FakeState } {
  const c = s.caches[0];
  const buf = c.tensors.k;
  const grow = s.length + 1 > (buf.shape[2] as number);
  const next = grow ? tf.zeros([1, 1, (buf.shape[2] as number) + CAP, 1]) : buf;
  if (grow) buf.dispose();
  return { logits: tf.ones([1, 1, 2]) as tf.Tensor3D, state: { length: s.length + 1, caches: [{ ...c, length: c.length + 1, tensors: { k: next } }] } };
}

function start(length: number): FakeState {
  return { length, caches: [{ mode: 'kv', length, tensors: { k: tf.zeros([1, 1, CAP, 1]) } }] };
}

function withFake(f: (fake: FakeGraphs) => void): void {
  useCpu();
  const fake = new FakeGraphs();
  registerStepGraphs(tf.getBackend(), fake);
  try {
    f(fake);
  } finally {
    registerStepGraphs(tf.getBackend(), null);
  }
}

/** `n` steps from `s` through `graphs`: the last state and how each step ran. */
function run(graphs: DecodeGraphs, s: FakeState, n: number, after?: (s: FakeState) => void): { state: FakeState; kinds: string[] } {
  const ids = tf.zeros([1, 1], 'int32') as tf.Tensor2D;
  const kinds: string[] = [];
  for (let i = 0; i < n; i++) {
    const before = { ...graphs.stats };
    const r = graphs.step(ids, s, eager);
    r.logits.dispose();
    s = r.state;
    kinds.push(graphs.stats.replayed > before.replayed ? 'replay' : graphs.stats.recorded > before.recorded ? 'record' : 'eager');
    after?.(s);
  }
  ids.dispose();
  return { state: s, kinds };
}

test('two recorded steps make a graph; later steps replay it, shifted by their distance from the second', () => {
  withFake((fake) => {
    const graphs = new DecodeGraphs();
    const s = run(graphs, start(2), 5).state;
    assert.equal(graphs.stats.recorded, 2);
    assert.equal(graphs.stats.replayed, 3);
    assert.equal(graphs.stats.graphs, 1);
    assert.deepEqual(fake.made[0].replays, [1, 2, 3]); // the graph was made at length 3 (the second step's start)
    assert.equal(s.length, 7);
    assert.equal(cacheRoom(s), CAP);
    graphs.dispose();
    assert.ok(fake.made[0].disposed);
  });
});

test('a step that grows a cache drops the graph before it runs eagerly, and two steps make a new one', () => {
  withFake((fake) => {
    const graphs = new DecodeGraphs();
    const { kinds } = run(graphs, start(4), 10, (s) => {
      if (s.length === CAP + 1) assert.ok(fake.made[0].disposed, 'the graph outlived the growth of its cache');
    });
    // lengths 4,5 record; 6,7 replay (capacity 8); at 8 the step grows: eager; 9,10 record; 11..13 replay
    assert.deepEqual(kinds, ['record', 'record', 'replay', 'replay', 'eager', 'record', 'record', 'replay', 'replay', 'replay']);
    assert.equal(graphs.stats.graphs, 2);
    graphs.dispose();
  });
});

test('a replay the graph refuses runs eagerly and recording starts again', () => {
  withFake((fake) => {
    const graphs = new DecodeGraphs();
    let s = run(graphs, start(0), 3).state; // record, record, replay
    fake.replayNull = true;
    s = run(graphs, s, 1).state; // refused: recorded instead
    assert.ok(fake.made[0].disposed);
    fake.replayNull = false;
    run(graphs, s, 2); // the second recording makes a new graph, which replays
    assert.deepEqual({ replayed: graphs.stats.replayed, recorded: graphs.stats.recorded, graphs: graphs.stats.graphs }, { replayed: 2, recorded: 4, graphs: 2 });
    graphs.dispose();
  });
});

test(`${REFUSALS_BEFORE_OFF} refused graphs in a row turn graphs off for the decode, with the reason kept`, () => {
  withFake((fake) => {
    fake.refuse = 'the two steps issued 9 and 8 dispatches';
    const graphs = new DecodeGraphs();
    run(graphs, start(0), 7);
    assert.equal(graphs.stats.refusals.length, REFUSALS_BEFORE_OFF);
    assert.match(graphs.stats.off ?? '', /9 and 8 dispatches/);
    assert.equal(graphs.stats.recorded, REFUSALS_BEFORE_OFF + 1);
    assert.equal(graphs.stats.eager, 7 - REFUSALS_BEFORE_OFF - 1);
    assert.equal(graphs.stats.replayed, 0);
    graphs.dispose();
  });
});

test('compareLogits: equal bits pass; one flipped bit, NaN and a length mismatch are found', () => {
  const a = [new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])];
  assert.deepEqual(compareLogits(a, a.map((x) => x.slice())), { stepsDiffering: 0, firstDiffering: null, maxAbsDiff: 0 });
  const b = a.map((x) => x.slice());
  new Uint32Array(b[1].buffer)[2] ^= 1; // the last bit of 6's mantissa
  const one = compareLogits(a, b);
  assert.equal(one.stepsDiffering, 1);
  assert.equal(one.firstDiffering, 1);
  assert.ok(one.maxAbsDiff > 0 && one.maxAbsDiff < 1e-5);
  const c = a.map((x) => x.slice());
  c[0][0] = NaN;
  assert.equal(compareLogits(a, c).maxAbsDiff, Infinity);
  const z = [new Float32Array([0]), new Float32Array([0])];
  assert.equal(compareLogits(z, [new Float32Array([-0]), new Float32Array([0])]).stepsDiffering, 1, '-0 is not +0 bit for bit');
  assert.throws(() => compareLogits(a, [a[0]]), /2 eager steps against 1 replayed/);
});
