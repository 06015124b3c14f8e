// Replayed decode steps against eager ones (lib/model/decode-graph.ts, lib/ops/step-graph.ts) on the active backend:
// each case decodes the same teacher-forced tokens twice from one model, once with every step run through tfjs and
// once with step graphs, and compares the logits of every step bit for bit. A replay runs the same shaders on the
// same buffers with the same uniforms, so anything but identical bits is a wrong replay. The tokens cross cache
// growths (a 64-row granule: the graph must stop, the step run eagerly, and two steps record again). The decode
// attention's split count changes at 64-key tiles, which fall on those growth steps, so no graph replays across one.
// Shape legend: B batch, t new tokens, V vocabulary.
import * as tf from '@tensorflow/tfjs-core';
import { resolveConfig } from '../config';
import type { CacheMode } from '../costs/cache-modes';
import { type DecodeGraphStats } from '../model/decode-graph';
import { createModel, type DecodeState, type GPT } from '../model/gpt';
import { gpuErrorScope } from '../backend';
import { type Spread, spread } from '../experiments/stats';
import { errorLine } from './train';

export interface GraphCheckCase {
  preset: string;
  cache: CacheMode;
  batch: number;
  /** Whether this case's steps must be replayed for it to pass (false: a case kept only to show the logits agree). */
  replays: boolean;
}

/**
 * Every cache mode of the 35M RoPE presets at batch 1, absorbed at batch 4, absorbed and MHA at batch 64 (a step of
 * separate kernels: the rotation and the cache writes on their own), and a learned-position preset (its rows added by lib/ops/add-positions.ts).
 */
export const GRAPH_CHECK_CASES: readonly GraphCheckCase[] = [
  { preset: '35m-mla-rope', cache: 'absorbed', batch: 1, replays: true },
  { preset: '35m-mla-rope', cache: 'latent', batch: 1, replays: true },
  { preset: '35m-mla-rope', cache: 'full', batch: 1, replays: true },
  { preset: '35m-mha-rope', cache: 'kv', batch: 1, replays: true },
  { preset: '35m-mla-rope', cache: 'absorbed', batch: 4, replays: true },
  { preset: '35m-mla-rope', cache: 'absorbed', batch: 64, replays: true },
  { preset: '35m-mha-rope', cache: 'kv', batch: 64, replays: true },
  { preset: '35m-mla-norope', cache: 'absorbed', batch: 1, replays: true },
];

export interface GraphCheckRow {
  what: string;
  ok: boolean;
  /** Steps whose logits differ in any bit from the eager decode's. */
  stepsDiffering?: number;
  /** The first such step (0 = the first decoded token after the prompt). */
  firstDiffering?: number | null;
  maxAbsDiff?: number;
  /** Wall time of one step including the read of its logits (B·V floats), eager and with graphs. */
  ms?: { eager: Spread; graphs: Spread };
  graphs?: DecodeGraphStats;
  error?: string;
}

export interface GraphCheckResult {
  prompt: number;
  steps: number;
  ok: boolean;
  rows: GraphCheckRow[];
}

/** Teacher-forced tokens (B, n): deterministic and distinct per sequence. */
function forcedTokens(B: number, n: number, vocab: number, from: number): number[][] {
  return Array.from({ length: B }, (_, b) => Array.from({ length: n }, (_, i) => ((from + i) * 7919 + b * 104729 + 17) % vocab));
}

/** The prompt then `steps` single-token steps, the logits of each step copied out, and each step's wall time. */
async function decodeAll(model: GPT, c: GraphCheckCase, prompt: number, steps: number, graphs: boolean): Promise<{ logits: Float32Array[]; ms: number[]; stats?: DecodeGraphStats }> {
  const V = model.config.vocabSize;
  const started = model.startDecode(c.batch, c.cache);
  let state: DecodeState = graphs ? started : { ...started, graphs: undefined };
  if (!graphs) started.graphs?.dispose();
  const logits: Float32Array[] = [];
  const ms: number[] = [];
  try {
    const p = tf.tensor2d(forcedTokens(c.batch, prompt, V, 0), [c.batch, prompt], 'int32');
    const pre = model.decode(p, state);
    p.dispose();
    state = pre.state;
    await pre.logits.data();
    pre.logits.dispose();
    const tokens = forcedTokens(c.batch, steps, V, prompt);
    for (let i = 0; i < steps; i++) {
      const ids = tf.tensor2d(tokens.map((row) => [row[i]]), [c.batch, 1], 'int32'); // (B, 1)
      const t0 = performance.now();
      const r = model.decode(ids, state);
      state = r.state;
      const out = (await r.logits.data()) as Float32Array; // (B, 1, V) flat
      ms.push(performance.now() - t0);
      ids.dispose();
      r.logits.dispose();
      logits.push(out.slice());
    }
    return { logits, ms, stats: state.graphs ? structuredClone(state.graphs.stats) : undefined };
  } finally {
    model.endDecode(state);
  }
}

/** Bitwise comparison of two runs' logits: steps differing, the first, and the largest |Δ| (NaN against a number counts as Infinity). */
export function compareLogits(a: readonly Float32Array[], b: readonly Float32Array[]): { stepsDiffering: number; firstDiffering: number | null; maxAbsDiff: number } {
  if (a.length !== b.length) throw new RangeError(`graph check: ${a.length} eager steps against ${b.length} replayed`);
  let stepsDiffering = 0;
  let firstDiffering: number | null = null;
  let maxAbsDiff = 0;
  a.forEach((x, s) => {
    const y = b[s];
    const xb = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const yb = new Uint32Array(y.buffer, y.byteOffset, y.length);
    let differs = x.length !== y.length;
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (xb[i] === yb[i]) continue;
      differs = true;
      const d = Math.abs(x[i] - y[i]);
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Infinity : d);
    }
    if (differs) {
      stepsDiffering++;
      firstDiffering ??= s;
    }
  });
  return { stepsDiffering, firstDiffering, maxAbsDiff };
}

/**
 * Each case: `prompt` tokens then `steps` steps, eager and with graphs, on one model per preset (seed 0). A case
 * passes when every step's logits are bitwise equal and, where it `replays`, at least one step was replayed.
 */
export async function runGraphCheck(prompt: number, steps: number, cases: readonly GraphCheckCase[] = GRAPH_CHECK_CASES, onRow?: (r: GraphCheckRow) => void): Promise<GraphCheckResult> {
  if (!Number.isInteger(prompt) || prompt < 1) throw new RangeError(`graph check: prompt ${prompt} must be an integer ≥ 1`);
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`graph check: steps ${steps} must be an integer ≥ 2 (a graph needs two recorded steps)`);
  const rows: GraphCheckRow[] = [];
  const models = new Map<string, GPT>();
  try {
    for (const c of cases) {
      const what = `${c.preset} ${c.cache} batch ${c.batch}`;
      let row: GraphCheckRow;
      try {
        const config = resolveConfig(c.preset, { maxSeqLen: Math.max(prompt + steps, resolveConfig(c.preset).maxSeqLen) });
        if (prompt + steps > config.maxSeqLen) throw new RangeError(`${c.preset}: ${prompt + steps} tokens exceed its learned positions (${config.maxSeqLen}); lower --prompt or --steps`);
        const key = `${c.preset}@${config.maxSeqLen}`;
        if (!models.has(key)) models.set(key, createModel(config, 0));
        const model = models.get(key)!;
        const scope = gpuErrorScope();
        const eager = await decodeAll(model, c, prompt, steps, false);
        const graphs = await decodeAll(model, c, prompt, steps, true);
        const gpuError = await scope.end();
        if (gpuError) throw new Error(`GPU ${gpuError}`);
        const cmp = compareLogits(eager.logits, graphs.logits);
        const stats = graphs.stats;
        const replayed = stats?.replayed ?? 0;
        const ok = cmp.stepsDiffering === 0 && (!c.replays || replayed > 0);
        row = {
          what, ok, ...cmp, ms: { eager: spread(eager.ms), graphs: spread(graphs.ms) }, graphs: stats,
          ...(ok ? {} : { error: cmp.stepsDiffering > 0 ? `${cmp.stepsDiffering} steps differ, the first at step ${cmp.firstDiffering}` : `no step was replayed${stats ? `: ${stats.refusals[0] ?? stats.off ?? 'none recorded'}` : ' (this backend has no step graphs: MLA_WEBGPU_DECODE_GRAPH=on)'}` }),
        };
      } catch (err) {
        row = { what, ok: false, error: errorLine(err) };
      }
      rows.push(row);
      onRow?.(row);
    }
  } finally {
    for (const m of models.values()) m.dispose();
  }
  return { prompt, steps, ok: rows.every((r) => r.ok), rows };
}
