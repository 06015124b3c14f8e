// withDeviceErrorScope: a pass-through off WebGPU, and on a device (here a stand-in with Dawn's two scope
// methods, registered as 'webgpu') a one-line DeviceError naming the command and the GPU's error; its check
// ends the scope so far and opens the next, so long work fails at the part that the error happened in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DeviceError, gpuErrorScope, withDeviceErrorScope } from '../../../lib/backend';
import { formatError } from '../../../cli/errors';

test('on cpu withDeviceErrorScope is the function itself: its value, its exception, a check that does nothing', async () => {
  await tf.setBackend('cpu');
  assert.equal(await withDeviceErrorScope(async () => 42, 'train'), 42);
  assert.equal(await withDeviceErrorScope(async (check) => (await check('step 1'), 43), 'train'), 43);
  const err = new Error('boom');
  await assert.rejects(withDeviceErrorScope(async () => { throw err; }, 'train'), (e) => e === err);
});

/**
 * A backend named 'webgpu' whose device keeps WebGPU's stack of error scopes: an error raised goes to the
 * innermost open scope of its filter (a scope keeps its first error only), and a pop returns that scope's error.
 */
class FakeWebgpu extends tf.KernelBackend {
  stack: { filter: string; error: string | null }[] = [];
  /** Errors no open scope caught (WebGPU reports them as uncaptured). */
  uncaptured: string[] = [];
  device = {
    pushErrorScope: (filter: string) => void this.stack.push({ filter, error: null }),
    popErrorScope: async () => {
      const s = this.stack.pop();
      if (!s) throw new Error('popErrorScope on an empty stack');
      return s.error === null ? null : { message: `${s.error}\n  while doing X` };
    },
  };
  raise(filter: string, message: string): void {
    const s = [...this.stack].reverse().find((x) => x.filter === filter);
    if (!s) this.uncaptured.push(message);
    else if (s.error === null) s.error = message;
  }
  override dispose(): void {}
}

async function withFake(f: (fake: FakeWebgpu) => Promise<void>): Promise<void> {
  const fake = new FakeWebgpu();
  tf.registerBackend('webgpu', () => fake, -1);
  try {
    await tf.setBackend('webgpu');
    await f(fake);
  } finally {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
  }
}

test('on a device an error in the scope is one DeviceError naming the command and the GPU error; the scopes are all popped', async () => {
  await withFake(async (fake) => {
    assert.equal(await withDeviceErrorScope(async () => 'clean', 'generate'), 'clean');
    assert.deepEqual(fake.stack, []);
    await assert.rejects(withDeviceErrorScope(async () => fake.raise('validation', 'Invalid ComputePipeline "mlaFlash"'), 'train'), (e: unknown) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /^train: the GPU device reported an error.*: validation: Invalid ComputePipeline "mlaFlash"$/);
      assert.equal(formatError(e).includes('\n'), false, 'printed as one line, no stack');
      assert.match(formatError(e), /^mla: train: /);
      return true;
    });
    // An exception caused by the dropped work (NaN loss) is reported as the device error, with it as the cause.
    const nan = new Error('loss is NaN');
    await assert.rejects(withDeviceErrorScope(async () => { fake.raise('out-of-memory', 'Out of memory'); throw nan; }, 'eval'), (e: unknown) => e instanceof DeviceError && (e as { cause?: unknown }).cause === nan && /out-of-memory: Out of memory$/.test(e.message));
    assert.deepEqual(fake.stack, []);
    assert.deepEqual(fake.uncaptured, []);
  });
});

test('check() ends the scope so far and opens the next: an error fails at the check after it, naming that part, and only once', async () => {
  await withFake(async (fake) => {
    const checked: string[] = [];
    await assert.rejects(
      withDeviceErrorScope(async (check) => {
        for (let step = 1; step <= 5; step++) {
          assert.equal(fake.stack.length, 3, 'one scope (three filters) open during each step');
          if (step === 3) fake.raise('validation', 'Invalid CommandBuffer');
          await check(`step ${step}`);
          checked.push(`step ${step}`);
        }
        return 'finished';
      }, 'run tiny seed 0: training'),
      (e: unknown) => {
        assert.ok(e instanceof DeviceError);
        assert.equal(e.message, 'run tiny seed 0: training, step 3: the GPU device reported an error, so its results are not trustworthy (a dropped command buffer reads as zeros): validation: Invalid CommandBuffer');
        assert.equal(formatError(e).includes('\n'), false);
        return true;
      },
    );
    assert.deepEqual(checked, ['step 1', 'step 2'], 'steps after the error are not reached');
    assert.deepEqual(fake.stack, [], 'every scope popped');
    // An error after the last check is still the outer scope's: the run's end reports it.
    await assert.rejects(
      withDeviceErrorScope(async (check) => {
        await check('step 1');
        fake.raise('internal', 'Device lost');
      }, 'train'),
      /^DeviceError: train: the GPU device reported an error.*: internal: Device lost$/,
    );
    // The check's error wins over a later one of the same work: it is the earliest, at its step.
    await assert.rejects(
      withDeviceErrorScope(async (check) => {
        fake.raise('validation', 'first');
        try {
          await check('step 1');
        } finally {
          fake.raise('validation', 'second');
        }
      }, 'train'),
      (e: unknown) => e instanceof DeviceError && /^train, step 1: .*validation: first$/.test(e.message),
    );
    assert.deepEqual(fake.stack, []);
    assert.deepEqual(fake.uncaptured, []);
  });
});

test('an allocation failure and the validation errors it causes are reported cause first, all in one line', async () => {
  await withFake(async (fake) => {
    const scope = gpuErrorScope();
    fake.raise('out-of-memory', 'Out of memory allocating 1073741824 bytes');
    fake.raise('validation', '[Invalid Buffer (unlabeled)] is invalid due to a previous error.');
    assert.equal(await scope.end(), 'out-of-memory: Out of memory allocating 1073741824 bytes; then validation: [Invalid Buffer (unlabeled)] is invalid due to a previous error.');
    const only = gpuErrorScope();
    fake.raise('validation', 'Invalid ComputePipeline');
    assert.equal(await only.end(), 'validation: Invalid ComputePipeline');
    assert.deepEqual(fake.stack, []);
  });
});
