// @ts-check
// Host time per WebGPU dispatch: N additions of 65,536 floats issued back to back (each one shader dispatch;
// below tfjs's CPU hand-off size of 1,000 they would run on the host), timed until the last is issued (host)
// and until its result is read (wall), per op, in rounds: tfjs as it is, then with the bind group layout memo
// (lib/backend/webgpu-dispatch.ts), then with its bind group cache too (both are turned off at start, so the
// first rounds are tfjs's own). A V8 CPU profile of training (train-bench.js --cpu-profile) says where
// the time of a dispatch goes.
//
//   node scripts/device/dispatch-bench.js [--ops 3000] [--out FILE]
'use strict';
const tf = require('@tensorflow/tfjs-core');
const { flags, int, loadLib, loadModule, emit, runMain, spread } = require('./common');

/** @param {number} ops */
async function round(ops) {
  const x = tf.ones([65536]);
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

runMain(async () => {
  const v = flags(process.argv.slice(2), { ops: { type: 'string', default: '3000' }, out: { type: 'string' } }, 'usage: node scripts/device/dispatch-bench.js [--ops 3000] [--out FILE]');
  const ops = int('ops', v.ops);
  const lib = loadLib();
  // initBackend applies both caches by default; this script applies them itself, one round set at a time.
  const settings = lib.backendSettings({ backend: 'webgpu' });
  const { device } = await lib.initBackend({ ...settings, webgpu: { ...settings.webgpu, layoutMemo: false, bindGroupCache: false } });
  const dispatch = loadModule('backend/webgpu-dispatch');
  /** @type {Record<string, any>} */
  const rounds = {};
  await round(200); // compile and warm
  rounds.tfjs = [await round(ops), await round(ops), await round(ops)];
  const applied = dispatch.memoizeBindGroupLayouts();
  rounds.layoutMemo = [await round(ops), await round(ops), await round(ops)];
  const bindGroupCache = dispatch.cacheBindGroups();
  rounds.bindGroupCache = [await round(ops), await round(ops), await round(ops)];
  const summary = (/** @type {{hostUsPerOp: number}[]} */ rs) => spread(rs.map((r) => r.hostUsPerOp));
  emit({ bench: 'dispatch', backend: 'webgpu', device, ops, layoutMemoApplied: applied, bindGroupCacheApplied: bindGroupCache, hostUsPerOp: { tfjs: summary(rounds.tfjs), layoutMemo: summary(rounds.layoutMemo), bindGroupCache: summary(rounds.bindGroupCache) }, rounds }, v.out);
  return 0;
});
