// Per-step decode timing on the GPU machine, each step read back (so its time is the whole step) and labelled with
// what the decode's step graphs did with it: replay, record, or eager (a cache growth, graphs off). A prefill of
// CONTEXT tokens (tiled: 256 real, their rows repeated), then STEPS greedy steps. On the GPU machine, after
// `source .device/unpack.sh` and unpacking .device/experiment.tar.xz:
//   node scripts/device/decode-steps.js PRESET MODE BATCH CONTEXT STEPS [on|off]
// (on/off: graphs for this decode; the backend must have them: MLA_WEBGPU_DECODE_GRAPH, on by default). DIST picks
// the compiled library (default .device/app/dist; here `DIST=dist` with MLA_WEBGPU_NULL_DEVICE=on for host time).
// It found the 1.3 s cache growth of 2026-12-07 (data/bench/device/decode-graphs-2026-12-07-h100/steps/).
const path = process.cwd() + '/' + (process.env.DIST || '.device/app/dist') + '/lib/';
const tf = require(require.resolve('@tensorflow/tfjs-core', { paths: [path] }));
(async () => {
  const { initBackend } = require(path + 'backend/init');
  await initBackend('webgpu');
  const { createModel } = require(path + 'model/gpt');
  const { greedyStep, greedyNext } = require(path + 'generate/decode-loop');
  const { tiledPrefill } = require(path + 'generate/prefill');
  const [preset, mode, B, ctx, steps, graphsOn] = [process.argv[2], process.argv[3], +process.argv[4], +process.argv[5], +process.argv[6], process.argv[7] !== 'off'];
  const cfg = require(path + 'config/presets').resolveConfig(preset, { maxSeqLen: ctx + steps + 64 });
  const model = createModel(cfg, 0);
  let state = model.startDecode(B, mode);
  if (!graphsOn) { state.graphs?.dispose(); state = { ...state, graphs: undefined }; }
  const ids = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: ctx }, (_, i) => (i * 7919 + b * 104729) % cfg.vocabSize)), [B, ctx], 'int32');
  const pre = tiledPrefill(model, ids, state);
  state = pre.state; let tok = greedyNext(pre.logits); pre.logits.dispose(); await tok.data();
  const caps = () => state.caches[0] ? Object.values(state.caches[0].tensors).map((t) => t.shape[2]).join('/') : '-';
  const out = [];
  let prev = JSON.stringify({});
  for (let i = 0; i < steps; i++) {
    const s0 = state.graphs ? { ...state.graphs.stats } : {};
    const t0 = performance.now();
    const r = greedyStep(model, tok, state); tok.dispose(); tok = r.next; state = r.state;
    const t1 = performance.now();
    await tok.data();
    const t2 = performance.now();
    const s1 = state.graphs ? state.graphs.stats : {};
    const kind = !state.graphs ? 'eager' : s1.replayed > s0.replayed ? 'replay' : s1.recorded > s0.recorded ? 'record' : 'eager';
    out.push(`${i} len ${state.length} cap ${caps()} ${kind} host ${(t1 - t0).toFixed(2)} total ${(t2 - t0).toFixed(2)}`);
  }
  console.log(`${preset} ${mode} B${B} ctx ${ctx} graphs ${graphsOn}`);
  console.log(out.join('\n'));
  console.log(JSON.stringify(state.graphs && state.graphs.stats));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
