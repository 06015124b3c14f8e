// The trainer on the real model: a tiny MLA GPT (with dropout) stopped mid-run and resumed from its checkpoint
// logs the same losses as an uninterrupted run, so everything the GPT's training depends on is checkpointed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config/presets';
import { createModel } from '../../lib/model/gpt';
import { readMetrics } from '../../lib/train/run-dir';
import { train } from '../../lib/train/trainer';
import type { StepMetrics, TrainOptions } from '../../lib/train/types';
import { ToySampler, toyCorpus, useCpu } from './toy';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-gpt-resume-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const config = resolveConfig('tiny-mla-norope', { dropout: 0.1 });
const data = () => ({ train: new ToySampler(toyCorpus(5000, config.vocabSize, 1), 2), val: toyCorpus(200, config.vocabSize, 3) });
const opts = (outDir: string, resume = false): Partial<TrainOptions> & { tokens: number; outDir: string } => ({
  // Small batches: tfjs-backend-cpu's gather gradient (UnsortedSegmentSum) costs O(segments × rows).
  tokens: 4 * 1 * 8 * 2, batchSize: 1, seqLen: 8, accumSteps: 2, lr: 1e-3, seed: 3, outDir, resume, evalEvery: 2, evalTokens: 48, progress: 'none',
});
const losses = (dir: string) => readMetrics(dir).map((l) => (l.kind === 'train' ? (l as StepMetrics).loss : l.valLoss));

test('tiny-mla-norope: stopped at step 2 and resumed, the same losses as an uninterrupted run', { timeout: 120_000 }, async () => {
  await useCpu();
  const full = path.join(root, 'full');
  const a = createModel(config, 3);
  await train(a, data(), opts(full));
  a.dispose();

  const dir = path.join(root, 'stopped');
  const b = createModel(config, 3);
  let n = 0;
  const first = await train(b, data(), opts(dir), { onStep: () => void n++, shouldStop: () => n >= 2 });
  assert.equal(first.steps, 2);
  b.dispose();
  const c = createModel(config, 3);
  await train(c, data(), opts(dir, true));
  c.dispose();
  assert.equal(losses(full).length, 4 + 2);
  assert.deepEqual(losses(dir), losses(full));
});
