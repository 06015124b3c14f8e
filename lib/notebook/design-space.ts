// The design-space sweeps of notebooks 07 and 08 as data: which models each trains at a scale, with their
// parameter and KV-cache sizes from the pure cost functions (never re-derived here), and the pieces that turn
// finished runs into a table and a Pareto figure.
//   rank sweep  MLA at KV ranks d/8, d/4, d/2, ⌊2d/3⌋ (64, 128, 256, 341 at d_model 512) and q ranks d/8, d/4, d
//               (d/2 is the presets' own); GQA at 1, 2, 4, … H/2 KV heads; MHA (= GQA with H KV heads).
//   RoPE split  RoPE dims 0, D/4, D/2, D of a D-dim head (0, 8, 16, 32 of 32) for MLA, MHA with decoupled RoPE,
//               and partial RoPE on plain MHA. 0 is the learned-position model of each family (our "no RoPE"
//               models keep learned positions, as the study's did). D is plain MHA's full RoPE; for the decoupled
//               kinds it leaves no no-RoPE part: every key is the one RoPE key shared by all heads, values per head.
// Sizes: smoke → tiny-* (d 64, head 16), small → small-* (d 256, head 32), gpu → 35m-* (d 512, head 32).
// Every sweep trains with the scale's design budget (Scale.design: 4.1M tokens and 3 seeds at gpu) or else its
// RoPE-experiment budget and seeds, and each kind's own learning rate where the scale has one (Scale.lr, from its
// LR sweep, as learningRateFor gives the experiments); else the budget's. The runs are `mla experiment run
// --experiment rankSweep|ropeSplit` (designSpecs), so a GPU machine without Jupyter trains what 07 and 08 show.
// designSourceSpec is the same run for a plain preset: the trained source of the design studies of 09 and 10.
import type { ModelConfig } from '../config/model-config';
import { deriveSizes } from '../config/model-config';
import { resolveConfig } from '../config/presets';
import { ConfigError } from '../config/validate';
import { CacheMode, defaultCacheMode } from '../costs/cache-modes';
import { kvCacheBytes, kvElementsPerTokenPerLayer } from '../costs/kv-cache';
import { nonEmbeddingParams, paramCount } from '../costs/params';
import { canonical, RunResult, RunSpec } from '../experiments/runs';
import type { Figure } from './plotly';
import { learningRateFor } from '../experiments/learning-rate';
import { SCALES } from './scale';
import type { Scale, ScaleName, ScaleTraining } from './scale';

export type SweepName = 'rank-sweep' | 'rope-split';
export type SweepFamily = 'mla-kv-rank' | 'mla-q-rank' | 'gqa' | 'mha' | 'mla-rope' | 'mha-decoupled-rope' | 'mha-partial-rope';

export interface DesignPoint {
  /** Unique within the sweep, e.g. 'mla-kv64', 'gqa-2', 'mla-rope8'. */
  id: string;
  label: string;
  family: SweepFamily;
  preset: string;
  overrides: Partial<ModelConfig>;
  /** The resolved, validated config. */
  config: ModelConfig;
  params: number;
  nonEmbeddingParams: number;
  /** The compact cache mode the KV numbers are for. */
  kvCacheMode: CacheMode;
  kvElementsPerTokenPerLayer: number;
  /** fp32 bytes per token, all layers. */
  kvBytesPerToken: number;
  /** The family's own swept value: KV rank, q rank, KV heads, or RoPE dims. */
  value: number;
  /** Training options of this point: the sweep's, with the kind's learning rate where the scale has one. */
  train: ScaleTraining;
}

export interface DesignSweep {
  name: SweepName;
  scale: ScaleName;
  description: string;
  data: string;
  seeds: number[];
  points: DesignPoint[];
}

const SIZE_PREFIX: Partial<Record<ScaleName, string>> = { smoke: 'tiny', small: 'small', gpu: '35m' };

function sizeOf(s: Scale): string {
  const p = SIZE_PREFIX[s.name];
  if (!p) throw new RangeError(`design-space sweeps are defined at smoke, small and gpu scale, not '${s.name}'`);
  return p;
}

function point(s: Scale, family: SweepFamily, value: number, id: string, label: string, preset: string, asked: Partial<ModelConfig>): DesignPoint {
  // An override equal to the preset's own value is dropped, so that one model has one spec wherever it appears
  // (the rank sweep's MLA d_c=341 and the RoPE split's MLA 16/32 are both the plain preset).
  const own = resolveConfig(preset) as unknown as Record<string, unknown>;
  const overrides = Object.fromEntries(Object.entries(asked).filter(([k, v]) => own[k] !== v)) as Partial<ModelConfig>;
  const config = resolveConfig(preset, overrides);
  const mode = defaultCacheMode(config);
  return {
    id,
    label,
    family,
    preset,
    overrides,
    config,
    params: paramCount(config).total,
    nonEmbeddingParams: nonEmbeddingParams(config),
    kvCacheMode: mode,
    kvElementsPerTokenPerLayer: kvElementsPerTokenPerLayer(config, mode),
    kvBytesPerToken: kvCacheBytes(config, mode, 'fp32').perToken,
    value,
    // The overrides never change the attention kind, so the preset's kind picks the rate.
    train: designTrain(s, preset),
  };
}

/**
 * The training options of every design run of a preset: the scale's design budget (Scale.design, else Experiment
 * 2's), at the preset's attention kind's learning rate where the scale has one (learningRateFor), else the budget's.
 */
export function designTrain(s: Scale, preset: string): ScaleTraining {
  const budget = s.design?.train ?? s.rope.train;
  const lr = learningRateFor(s, { train: budget }, preset);
  return lr === undefined ? { ...budget } : { ...budget, lr };
}

// The experiments' own train-perplexity budget (trainEvalTokens = evalTokens), so that a point equal to a study
// model at the same budget (the scaling run's 35M models at gpu) is the same run folder.
function designRun(data: string, preset: string, overrides: Partial<ModelConfig>, train: ScaleTraining, seed: number): RunSpec {
  return { preset, overrides, seed, data, train, trainEvalTokens: train.evalTokens };
}

/**
 * The plain preset at the scale's design budget: the run a design sweep trains for its point without overrides
 * (rank sweep: MLA at its own d_c, MHA; RoPE split: each family's 0 and MHA's whole head), and so the source
 * model of the design studies (lib/experiments/design-studies.ts: notebooks 09 and 10). At gpu it is also the
 * scaling experiment's 35M run folder.
 */
export function designSourceSpec(s: Scale, preset: string, seed: number): RunSpec {
  return designRun(s.data, preset, {}, designTrain(s, preset), seed);
}

function sweep(name: SweepName, s: Scale, description: string, points: DesignPoint[]): DesignSweep {
  return { name, scale: s.name, description, data: s.data, seeds: [...(s.design?.seeds ?? s.seeds)], points };
}

/** A scale by name, or as given (e.g. scale()'s copy, with $MLA_DATA applied). */
const scaleOf = (scale: ScaleName | Scale): Scale => (typeof scale === 'string' ? SCALES[scale] : scale);

/** MLA's KV and q ranks, GQA's KV heads and MHA at one scale (notebook 07). */
export function rankSweep(scale: ScaleName | Scale): DesignSweep {
  const sc = scaleOf(scale);
  const p = sizeOf(sc);
  const base = resolveConfig(`${p}-mla-rope`);
  const d = base.dModel;
  const H = base.nHeads;
  const points: DesignPoint[] = [];
  for (const kvRank of [d / 8, d / 4, d / 2, Math.floor((2 * d) / 3)]) {
    points.push(point(sc, 'mla-kv-rank', kvRank, `mla-kv${kvRank}`, `MLA d_c=${kvRank}`, `${p}-mla-rope`, kvRank === base.kvRank ? {} : { kvRank }));
  }
  for (const qRank of [d / 8, d / 4, d]) {
    points.push(point(sc, 'mla-q-rank', qRank, `mla-q${qRank}`, `MLA d_q=${qRank} (d_c=${base.kvRank})`, `${p}-mla-rope`, { qRank }));
  }
  for (let kv = 1; kv < H; kv *= 2) points.push(point(sc, 'gqa', kv, `gqa-${kv}`, kv === 1 ? 'GQA-1 (MQA)' : `GQA-${kv}`, `${p}-gqa-rope`, { nKvHeads: kv }));
  points.push(point(sc, 'mha', H, 'mha', `MHA (GQA-${H})`, `${p}-mha-rope`, {}));
  return sweep('rank-sweep', sc, `KV rank, q rank and KV heads at d_model ${d}, ${H} heads (${p}-* models, RoPE)`, points);
}

/** RoPE dims per head for MLA, MHA with decoupled RoPE and partial-RoPE MHA at one scale (notebook 08). */
export function ropeSplitSweep(scale: ScaleName | Scale): DesignSweep {
  const sc = scaleOf(scale);
  const p = sizeOf(sc);
  const D = deriveSizes(resolveConfig(`${p}-mha-rope`)).headDim;
  const dims = [0, D / 4, D / 2, D];
  const points: DesignPoint[] = [];
  for (const r of dims) {
    const of = `${r}/${D}`;
    if (r === 0) {
      points.push(point(sc, 'mla-rope', 0, 'mla-rope0', `MLA, RoPE ${of} (learned positions)`, `${p}-mla-norope`, {}));
      points.push(point(sc, 'mha-decoupled-rope', 0, 'mha-decoupled-rope0', `MHA decoupled, RoPE ${of} (learned positions)`, `${p}-mha-norope`, {}));
      points.push(point(sc, 'mha-partial-rope', 0, 'mha-partial-rope0', `MHA, RoPE ${of} (learned positions)`, `${p}-mha-norope`, {}));
      continue;
    }
    // r = D: no no-RoPE dims, every key the one shared RoPE key (values stay per head).
    const shared = r === D ? ' (one shared key)' : '';
    points.push(point(sc, 'mla-rope', r, `mla-rope${r}`, `MLA, RoPE ${of}${shared}`, `${p}-mla-rope`, { ropeDim: r }));
    points.push(point(sc, 'mha-decoupled-rope', r, `mha-decoupled-rope${r}`, `MHA decoupled, RoPE ${of}${shared}`, `${p}-mha-decoupled-rope`, { ropeDim: r }));
    points.push(point(sc, 'mha-partial-rope', r, `mha-partial-rope${r}`, `MHA, RoPE ${of}${r === D ? ' (whole head)' : ''}`, `${p}-mha-rope`, r === D ? {} : { ropeDim: r }));
  }
  return sweep('rope-split', sc, `RoPE dims 0, ${D / 4}, ${D / 2}, ${D} of ${D} per head (${p}-* models)`, points);
}

/**
 * The runs of a sweep, points in order and seeds inner, each model once (two points may be one model: each
 * family's learned-position 0). `points` keeps only those point ids, or the points of those presets; an unknown
 * name is an error that lists the sweep's ids. Pure: what `mla experiment run --experiment rankSweep` trains and
 * what notebooks 07 and 08 read (through scaleExperiment, like the study's experiments).
 */
export function designSpecs(s: DesignSweep, o: { seeds?: number[]; points?: string[] } = {}): RunSpec[] {
  for (const name of o.points ?? []) {
    if (!s.points.some((p) => p.id === name || p.preset === name)) {
      throw new ConfigError('points', name, `${s.name} at scale ${s.scale} has: ${s.points.map((p) => p.id).join(', ')}`);
    }
  }
  const seen = new Set<string>();
  const specs: RunSpec[] = [];
  for (const pt of s.points.filter((p) => !o.points || o.points.includes(p.id) || o.points.includes(p.preset))) {
    for (const seed of o.seeds ?? s.seeds) {
      const key = canonical({ config: pt.config, seed, train: pt.train });
      if (seen.has(key)) continue;
      seen.add(key);
      specs.push(designRun(s.data, pt.preset, pt.overrides, pt.train, seed));
    }
  }
  return specs;
}

export interface DesignRow {
  id: string;
  label: string;
  family: SweepFamily;
  value: number;
  params: number;
  nonEmbeddingParams: number;
  kvElementsPerTokenPerLayer: number;
  kvBytesPerToken: number;
  seeds: number;
  /** Each run's validation perplexity, in seed order (seedIds): at 4.1M tokens MLA's seeds can differ by 100. */
  valPpls: number[];
  seedIds: number[];
  valPplMean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  valPplSd: number;
  lr: number | null;
}

// By resolved config, not by spec: a point equal to a preset (e.g. MLA's own RoPE split) reuses that preset's
// run folder, whose spec names no overrides.
const sameRun = (pt: DesignPoint, r: RunResult) => canonical(r.config) === canonical(pt.config);

/** One row per point that has runs: sizes from the cost functions, validation perplexity over seeds. */
export function designRows(s: DesignSweep, results: RunResult[]): DesignRow[] {
  const rows: DesignRow[] = [];
  for (const pt of s.points) {
    // Two points may be one model (each family's learned-position 0): a run folder counts once.
    const runs = [...new Map(results.filter((r) => sameRun(pt, r)).map((r) => [r.runDir ?? `${r.spec.seed}`, r])).values()].sort((a, b) => a.spec.seed - b.spec.seed);
    const ppl = runs.map((r) => r.valPerplexity);
    if (!ppl.length) continue;
    const mean = ppl.reduce((a, b) => a + b, 0) / ppl.length;
    const sd = ppl.length > 1 ? Math.sqrt(ppl.reduce((a, b) => a + (b - mean) ** 2, 0) / (ppl.length - 1)) : 0;
    rows.push({
      id: pt.id,
      label: pt.label,
      family: pt.family,
      value: pt.value,
      params: pt.params,
      nonEmbeddingParams: pt.nonEmbeddingParams,
      kvElementsPerTokenPerLayer: pt.kvElementsPerTokenPerLayer,
      kvBytesPerToken: pt.kvBytesPerToken,
      seeds: ppl.length,
      valPpls: ppl,
      seedIds: runs.map((r) => r.spec.seed),
      valPplMean: mean,
      valPplSd: sd,
      lr: pt.train.lr ?? null,
    });
  }
  return rows;
}

/**
 * The points no other point beats on both axes (lower cost and lower perplexity; ties on cost keep the better
 * perplexity), sorted by cost: the front a design can choose from.
 */
export function paretoFront<T>(items: readonly T[], cost: (t: T) => number, loss: (t: T) => number): T[] {
  const sorted = [...items].sort((a, b) => cost(a) - cost(b) || loss(a) - loss(b));
  const front: T[] = [];
  for (const t of sorted) if (!front.length || loss(t) < loss(front[front.length - 1])) front.push(t);
  return front;
}

const FAMILY_COLORS: Record<SweepFamily, string> = {
  'mla-kv-rank': '#1f77b4',
  'mla-q-rank': '#17becf',
  gqa: '#ff7f0e',
  mha: '#d62728',
  'mla-rope': '#1f77b4',
  'mha-decoupled-rope': '#2ca02c',
  'mha-partial-rope': '#d62728',
};

/** The rows of each family, families in order of first appearance. */
function byFamily(rows: DesignRow[]): [SweepFamily, DesignRow[]][] {
  return [...new Set(rows.map((r) => r.family))].map((f) => [f, rows.filter((r) => r.family === f)]);
}

/**
 * Every run of the rows as a small ring at its point's x (hover: the seed), one trace per family, in its colour and
 * legend group: with three seeds a mean ± SD hides a split into two regimes, the rings show it.
 */
function seedTraces(rows: DesignRow[], x: (r: DesignRow) => number, axis: string): Record<string, unknown>[] {
  return byFamily(rows).map(([f, rs]) => {
    return {
      type: 'scatter',
      mode: 'markers',
      name: `${f} (each seed)`,
      legendgroup: f,
      showlegend: false,
      x: rs.flatMap((r) => r.valPpls.map(() => x(r))),
      y: rs.flatMap((r) => r.valPpls),
      text: rs.flatMap((r) => r.seedIds.map((seed) => `${r.id} seed ${seed}`)),
      hoverinfo: 'text+y',
      marker: { color: FAMILY_COLORS[f], size: 6, symbol: 'circle-open' },
      ...(axis === '' ? {} : { xaxis: `x${axis}`, yaxis: `y${axis}` }),
    };
  });
}

/** Scatter traces of rows against x, one trace per family: the mean over seeds (the seeds: seedTraces). */
function familyTraces(rows: DesignRow[], x: (r: DesignRow) => number, axis: string, showlegend: boolean): Record<string, unknown>[] {
  return byFamily(rows).map(([f, rs]) => {
    return {
      type: 'scatter',
      mode: 'markers+text',
      name: f,
      legendgroup: f,
      showlegend,
      x: rs.map(x),
      y: rs.map((r) => r.valPplMean),
      text: rs.map((r) => r.id),
      textposition: 'top center',
      textfont: { size: 9 },
      marker: { color: FAMILY_COLORS[f], size: 9 },
      xaxis: `x${axis}`,
      yaxis: `y${axis}`,
    };
  });
}

/**
 * Notebook 07's figure: validation perplexity against fp32 KV bytes per token (log x) with the Pareto front (of the
 * means), and against parameters (the study's equal-parameter view) beside it; a filled marker is a point's mean,
 * its rings the seeds.
 */
export function rankSweepFigure(rows: DesignRow[], title: string): Figure {
  const front = paretoFront(rows, (r) => r.kvBytesPerToken, (r) => r.valPplMean);
  return {
    data: [
      ...familyTraces(rows, (r) => r.kvBytesPerToken, '', true),
      ...seedTraces(rows, (r) => r.kvBytesPerToken, ''),
      // A staircase: between two front points, the cheaper one's perplexity is the best on offer.
      { type: 'scatter', mode: 'lines', name: 'Pareto front', x: front.map((r) => r.kvBytesPerToken), y: front.map((r) => r.valPplMean), line: { dash: 'dot', color: '#555', shape: 'hv' }, xaxis: 'x', yaxis: 'y' },
      ...familyTraces(rows, (r) => r.params / 1e6, '2', false),
      ...seedTraces(rows, (r) => r.params / 1e6, '2'),
    ],
    layout: {
      title: { text: title },
      grid: { rows: 1, columns: 2, pattern: 'independent' },
      xaxis: { type: 'log', title: { text: 'KV cache, bytes per token (fp32, all layers; log)' } },
      yaxis: { title: { text: 'validation perplexity' } },
      xaxis2: { title: { text: 'parameters (M)' } },
      yaxis2: { title: { text: 'validation perplexity' } },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** Notebook 08's figure: validation perplexity against RoPE dims per head, one line per family through the means, rings the seeds. */
export function ropeSplitFigure(rows: DesignRow[], headDim: number, title: string): Figure {
  return {
    data: [...byFamily(rows).map(([f, unsorted]) => {
      const rs = [...unsorted].sort((a, b) => a.value - b.value);
      return {
        type: 'scatter',
        mode: 'lines+markers',
        name: f,
        x: rs.map((r) => r.value),
        y: rs.map((r) => r.valPplMean),
        legendgroup: f,
        marker: { color: FAMILY_COLORS[f] },
        line: { color: FAMILY_COLORS[f] },
      };
    }), ...seedTraces(rows, (r) => r.value, '')],
    layout: {
      title: { text: title },
      xaxis: { title: { text: `RoPE dims per head (of ${headDim}; 0 = learned positions)` }, tickvals: [0, headDim / 4, headDim / 2, headDim], zeroline: false },
      yaxis: { title: { text: 'validation perplexity' } },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}
