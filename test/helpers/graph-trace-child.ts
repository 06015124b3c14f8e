// Run by test/backend/webgpu/step-graph-trace.test.ts in a process of its own on the null device
// (MLA_WEBGPU_NULL_DEVICE=on, MLA_WEBGPU_DECODE_GRAPH=on): argv PRESET MODE BATCH. Records six eager single-token
// steps after a 5-token prefill, makes a graph from the second and third, and prints as JSON what its replay would
// dispatch one and two positions on beside what the fourth and fifth eager steps dispatched.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../lib/backend';
import { backendSettings } from '../../lib/settings';
import { resolveConfig } from '../../lib/config';
import { type CacheMode } from '../../lib/costs/cache-modes';
import { createModel, type DecodeState } from '../../lib/model/gpt';
import { stepGraphs, type StepRecording } from '../../lib/ops/step-graph';
import { type DispatchTrace, traceOf } from '../../lib/backend/webgpu/step-graph';

interface Step {
  shift: number;
  replay: DispatchTrace[] | null;
  eager: DispatchTrace[];
}

async function main(): Promise<void> {
  const [preset, mode, batch] = [process.argv[2], process.argv[3] as CacheMode, Number(process.argv[4])];
  await initBackend(backendSettings({ backend: 'webgpu' }));
  const sg = stepGraphs();
  if (!sg) throw new Error('no step graphs on this backend: MLA_WEBGPU_DECODE_GRAPH=on');
  const model = createModel(resolveConfig(preset), 0);
  const started = model.startDecode(batch, mode);
  started.graphs?.dispose();
  let state: DecodeState = { ...started, graphs: undefined }; // eager steps: this process records them itself
  const ids = (t: number) => tf.tensor2d(Array.from({ length: batch }, (_, b) => Array.from({ length: t }, (_, i) => (3 * i + b + 1) % model.config.vocabSize)), [batch, t], 'int32');
  const pre = model.decode(ids(5), state);
  state = pre.state;
  pre.logits.dispose();
  const recs: StepRecording[] = [];
  for (let k = 0; k < 6; k++) {
    const x = ids(1);
    const { result, recording } = sg.record(() => model.decode(x, state), [x], (r) => [r.logits]);
    state = result.state;
    result.logits.dispose();
    recs.push(recording);
  }
  // The first step after the prefill also builds per-decode weight memos (more dispatches): graphs start later.
  const g = sg.graph(recs[1], recs[2]);
  if (typeof g === 'string') {
    console.log(JSON.stringify({ refused: g }));
    return;
  }
  const steps: Step[] = [1, 2].map((shift) => ({ shift, replay: (g as unknown as { trace(s: number): DispatchTrace[] | null }).trace(shift), eager: traceOf(recs[2 + shift]) }));
  const mismatches: string[] = [];
  for (const s of steps) {
    if (!s.replay) {
      mismatches.push(`shift ${s.shift}: the graph refused`);
      continue;
    }
    if (s.replay.length !== s.eager.length) mismatches.push(`shift ${s.shift}: ${s.replay.length} dispatches replayed, ${s.eager.length} eager`);
    s.replay.forEach((r, i) => {
      const e = s.eager[i];
      if (!e) return;
      const what = `shift ${s.shift} dispatch ${i + 1} (${e.shader})`;
      if (r.pipeline !== e.pipeline) mismatches.push(`${what}: another pipeline`);
      if (JSON.stringify(r.dims) !== JSON.stringify(e.dims)) mismatches.push(`${what}: workgroups ${r.dims} replayed, ${e.dims} eager`);
      if (JSON.stringify(r.uniforms) !== JSON.stringify(e.uniforms)) mismatches.push(`${what}: other uniform bytes`);
    });
  }
  const positional = steps[0].replay!.filter((r, i) => JSON.stringify(r.uniforms) !== JSON.stringify(traceOf(recs[2])[i].uniforms)).length;
  const shaders = [...new Set(traceOf(recs[2]).map((d) => d.shader))].sort();
  console.log(JSON.stringify({ dispatches: g.dispatches, positional, mismatches, shaders }));
  g.dispose();
  for (const r of recs) r.dispose();
  model.endDecode(state);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);
