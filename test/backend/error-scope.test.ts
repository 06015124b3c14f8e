// withDeviceErrorScope: a pass-through off WebGPU, and on a device (here a stand-in with Dawn's two scope
// methods, registered as 'webgpu') a one-line DeviceError naming the command and the GPU's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DeviceError, withDeviceErrorScope } from '../../lib/backend';
import { formatError } from '../../cli/errors';

test('on cpu withDeviceErrorScope is the function itself: its value, its exception', async () => {
  await tf.setBackend('cpu');
  assert.equal(await withDeviceErrorScope(async () => 42, 'train'), 42);
  const err = new Error('boom');
  await assert.rejects(withDeviceErrorScope(async () => { throw err; }, 'train'), (e) => e === err);
});

/** A backend named 'webgpu' whose device reports `errors` (filter → message) when its scopes are popped. */
class FakeWebgpu extends tf.KernelBackend {
  stack: string[] = [];
  errors: Record<string, string> = {};
  device = {
    pushErrorScope: (f: string) => void this.stack.push(f),
    popErrorScope: async () => {
      const f = this.stack.pop()!;
      return this.errors[f] ? { message: `${this.errors[f]}\n  while doing X` } : null;
    },
  };
  override dispose(): void {}
}

test('on a device an error in the scope is one DeviceError naming the command and the GPU error; the scopes are all popped', async () => {
  const fake = new FakeWebgpu();
  tf.registerBackend('webgpu', () => fake, -1);
  try {
    await tf.setBackend('webgpu');
    assert.equal(await withDeviceErrorScope(async () => 'clean', 'generate'), 'clean');
    assert.deepEqual(fake.stack, []);
    fake.errors = { validation: 'Invalid ComputePipeline "mlaFlash"' };
    await assert.rejects(withDeviceErrorScope(async () => 0, 'train'), (e: unknown) => {
      assert.ok(e instanceof DeviceError);
      assert.match(e.message, /^train: the GPU device reported an error.*: validation: Invalid ComputePipeline "mlaFlash"$/);
      assert.equal(formatError(e).includes('\n'), false, 'printed as one line, no stack');
      assert.match(formatError(e), /^mla: train: /);
      return true;
    });
    // An exception caused by the dropped work (NaN loss) is reported as the device error, with it as the cause.
    const nan = new Error('loss is NaN');
    await assert.rejects(withDeviceErrorScope(async () => { throw nan; }, 'eval'), (e: unknown) => e instanceof DeviceError && (e as { cause?: unknown }).cause === nan);
    assert.deepEqual(fake.stack, []);
  } finally {
    await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
  }
});
