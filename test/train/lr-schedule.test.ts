// The LR schedule: warm-up, cosine to the floor, and the study's mis-sized schedule that never passes ~13%.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORIGINAL_LR_REACHED, cosineSchedule, lrAt, originalSchedule, peakFractionReached } from '../../lib/costs/lr-schedule';

test('cosine: linear warm-up to the peak, then down to 10% of it at the last step', () => {
  const s = cosineSchedule(200, 6e-4);
  assert.equal(s.warmupSteps, 10, 'default warm-up is 5% of the steps');
  assert.ok(Math.abs(lrAt(0, s) - 6e-5) < 1e-15);
  assert.ok(Math.abs(lrAt(4, s) - 3e-4) < 1e-15);
  assert.equal(lrAt(9, s), 6e-4);
  assert.ok(Math.abs(lrAt(10, s) - 6e-4) < 1e-15);
  assert.ok(Math.abs(lrAt(199, s) - 6e-5) < 1e-15, 'floor at the last step');
  // 201 steps with 10 of warm-up: the decay runs over steps 10..200, so step 105 is exactly half way down.
  const mid = lrAt(105, cosineSchedule(201, 6e-4, 10));
  assert.ok(Math.abs(mid - 3.3e-4) < 1e-12, `half way down the cosine is the mean of peak and floor, got ${mid}`);
  for (let i = 10; i < 199; i++) assert.ok(lrAt(i + 1, s) <= lrAt(i, s), `non-increasing after warm-up (step ${i})`);
  for (let i = 0; i < 200; i++) assert.ok(lrAt(i, s) >= 6e-5 - 1e-18 && lrAt(i, s) <= 6e-4);
});

test('an explicit warm-up and a one-step run are handled', () => {
  assert.equal(cosineSchedule(50, 1, 20).warmupSteps, 20);
  const one = cosineSchedule(1, 1e-3);
  assert.equal(one.warmupSteps, 1);
  assert.equal(lrAt(0, one), 1e-3);
});

test("the 'original' schedule never passes about 13% of the peak, whatever the run length", () => {
  for (const steps of [10, 100, 2034, 20000]) {
    const s = originalSchedule(steps, 6e-4);
    const reached = peakFractionReached(steps, s);
    assert.ok(reached <= ORIGINAL_LR_REACHED + 1e-12 && reached > ORIGINAL_LR_REACHED - 0.01, `${steps} steps reached ${reached}`);
    assert.ok(s.warmupSteps > steps, 'warm-up longer than the run');
    // Within the run the LR only climbs.
    assert.ok(lrAt(steps - 1, s) > lrAt(steps - 2, s));
  }
  const c = cosineSchedule(2034, 6e-4);
  assert.equal(peakFractionReached(2034, c), 1, 'the sized schedule does reach its peak');
});
