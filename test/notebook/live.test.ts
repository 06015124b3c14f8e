import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordingDisplay } from '../../lib/notebook/display';
import { liveTraining } from '../../lib/notebook/live';

const step = (i: number) => ({ step: i, tokens: 128 * i, loss: 5 - i / 10, lr: 1e-3, elapsedSec: i / 2 });

test('live training redraws one area in place, throttled, with evals and the end forced', () => {
  let clock = 0;
  const display = recordingDisplay(true);
  const live = liveTraining({ display, now: () => clock, minIntervalMs: 1000, title: 'tiny-mla' });
  for (let i = 1; i <= 10; i++) {
    clock += 100; // ten steps within one second: only the first draws
    live.onStep(step(i));
  }
  assert.equal(display.writes.length, 1);
  clock += 1000;
  live.onStep(step(11));
  assert.equal(display.writes.length, 2);
  live.onEval({ step: 11, valLoss: 3.9 }); // forced although no time passed
  assert.equal(display.writes.length, 3);
  live.done();
  assert.equal(display.writes.length, 4);
  // Every write goes to the same area (1), never to the cell itself (0): the view updates in place.
  assert.ok(display.writes.every((w) => w.area === 1 && w.kind === 'html'));
  const last = display.writes[display.writes.length - 1].value;
  assert.match(last, /tiny-mla \| step 11 \| tokens 1,408 \| loss 3\.9000/);
  assert.match(last, /val loss 3\.9000 \(ppl 49\.40\)/);
  assert.match(last, /<svg/);
  assert.equal(live.steps.length, 11);
  assert.equal(live.evals.length, 1);
});

test('outside a notebook the hooks print throttled status lines', () => {
  let clock = 0;
  const display = recordingDisplay(false);
  const live = liveTraining({ display, now: () => clock });
  for (let i = 1; i <= 30; i++) {
    clock += 1000;
    live.onStep(step(i));
  }
  live.done();
  // Default text interval 10 s: steps 1, 11, 21, then done.
  assert.equal(display.writes.length, 4);
  assert.ok(display.writes.every((w) => w.kind === 'text' && !w.value.includes('<')));
  assert.match(display.writes[3].value, /step 30/);
  // Throughput from the trainer's own clock: 3840 tokens in 15 s.
  assert.match(display.writes[3].value, /256 tok\/s/);
});
