// @ts-check
// Host time per WebGPU dispatch: N small additions issued back to back (each one shader dispatch), timed until
// the last is issued (host) and until its result is read (wall), per op, in rounds: tfjs as it is, then with
// the bind group layout memo (lib/backend/webgpu-dispatch.ts), then once more with the Dawn calls of a
// dispatch timed one by one (createBindGroup, writeBuffer, the pass encoder's calls).
//
//   node scripts/device/dispatch-bench.js [--ops 3000] [--out FILE]
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, emit, runMain, spread } = require('./common');

/** @param {number} ops */
async function round(ops) {
  const x = tf.ones([256]);
  await x.data();
  const t0 = performance.now();
  let y = tf.add(x, x);
  for (let i = 1; i < ops; i++) {
    const z = tf.add(y, x);
    y.dispose();
    y = z;
  }
  const t1 = performance.now();
  await y.data();
  const t2 = performance.now();
  tf.dispose([x, y]);
  return { hostUsPerOp: ((t1 - t0) * 1000) / ops, wallUsPerOp: ((t2 - t0) * 1000) / ops };
}

/**
 * Wraps the named methods of `obj` to add their time to `acc`.
 * @param {any} obj @param {string[]} names @param {Record<string, number>} acc @param {string} prefix
 */
function timeMethods(obj, names, acc, prefix) {
  for (const n of names) {
    const f = obj[n];
    if (typeof f !== 'function' || f.__timed) continue;
    const timed = function (/** @type {any[]} */ ...args) {
      const s = performance.now();
      try {
        // @ts-ignore
        return f.apply(this, args);
      } finally {
        acc[prefix + n] = (acc[prefix + n] ?? 0) + performance.now() - s;
      }
    };
    timed.__timed = true;
    try {
      obj[n] = timed;
    } catch {
      /* read-only */
    }
  }
}

runMain(async () => {
  const v = flags(process.argv.slice(2), { ops: { type: 'string', default: '3000' }, out: { type: 'string' } }, 'usage: node scripts/device/dispatch-bench.js [--ops 3000] [--out FILE]');
  const ops = int('ops', v.ops);
  const lib = loadLib();
  const { device } = await lib.initBackend('webgpu');
  /** @type {Record<string, any>} */
  const rounds = {};
  await round(200); // compile and warm
  rounds.tfjs = [await round(ops), await round(ops), await round(ops)];
  const applied = lib.memoizeBindGroupLayouts();
  rounds.layoutMemo = [await round(ops), await round(ops), await round(ops)];
  // Where the rest goes: the Dawn calls of recordAndSubmit, timed.
  const backend = /** @type {any} */ (tf.backend());
  /** @type {Record<string, number>} */
  const acc = {};
  timeMethods(backend.device, ['createBindGroup', 'createBuffer', 'createCommandEncoder'], acc, 'device.');
  timeMethods(backend.queue, ['writeBuffer', 'submit'], acc, 'queue.');
  timeMethods(backend, ['makeUniforms', 'recordAndSubmit', 'runWebGPUProgram', 'makeTensorInfo', 'submitQueue'], acc, 'backend.');
  const encoderProto = Object.getPrototypeOf(backend.device.createCommandEncoder().beginComputePass());
  timeMethods(encoderProto, ['setPipeline', 'setBindGroup', 'dispatchWorkgroups', 'end'], acc, 'pass.');
  const timedRound = await round(ops);
  const perOpUs = Object.fromEntries(Object.entries(acc).map(([k, ms]) => [k, +((ms * 1000) / ops).toFixed(2)]));
  const summary = (/** @type {{hostUsPerOp: number}[]} */ rs) => spread(rs.map((r) => r.hostUsPerOp));
  emit({ bench: 'dispatch', backend: 'webgpu', device, ops, layoutMemoApplied: applied, hostUsPerOp: { tfjs: summary(rounds.tfjs), layoutMemo: summary(rounds.layoutMemo) }, rounds, timedRound, timedCallsUsPerOp: perOpUs }, v.out);
  return 0;
});
