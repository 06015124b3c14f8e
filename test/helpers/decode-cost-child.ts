// Run by test/backend/webgpu/step-graph-trace.test.ts in a process of its own on the null device
// (MLA_WEBGPU_NULL_DEVICE=on, MLA_WEBGPU_DECODE_GRAPH=on): argv PRESET MODE. Times decode steps as the decodeCost
// study does (lib/experiments/timing.ts: one token tensor fed to every step, so replays get their recorded input
// back) inside a GPU error scope, and prints as JSON what the scope reported and how many steps replayed.
import { gpuErrorScope, initBackend } from '../../lib/backend';
import { backendSettings } from '../../lib/settings';
import { resolveConfig } from '../../lib/config';
import { type CacheMode } from '../../lib/costs/cache-modes';
import { createModel } from '../../lib/model/gpt';
import { decodeCostAt } from '../../lib/experiments/timing';
import { stepGraphs } from '../../lib/ops/step-graph';

async function main(): Promise<void> {
  const [preset, mode] = [process.argv[2], process.argv[3] as CacheMode];
  await initBackend(backendSettings({ backend: 'webgpu' }));
  const sg = stepGraphs();
  if (!sg) throw new Error('no step graphs on this backend: MLA_WEBGPU_DECODE_GRAPH=on');
  const model = createModel(resolveConfig(preset), 0);
  const scope = gpuErrorScope();
  const p = await decodeCostAt(model, mode, 20, 8);
  console.log(JSON.stringify({ error: await scope.end(), replayed: p.replayedSteps }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
