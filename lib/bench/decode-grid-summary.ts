// A scripts/device/decode-grid.sh folder as one table: every cell of our `mla bench decode` records (ours-*.json, one
// per preset, batch and mode, written after every cell so a stage cut short keeps its finished cells) beside
// PyTorch's from the same call (torch-decode.jsonl), with the ratio ours / PyTorch in time per step, the
// memory-traffic floor of each record's own copy bandwidth, the decode attention's GPU time, and the crossover
// context per preset and batch from the three MLA modes' records together (decodeCrossover).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CacheMode } from '../costs/cache-modes';
import { decodeFlopsPerToken } from '../costs/flops';
import { BenchError } from './errors';
import type { DecodeSync } from '../generate/decode-loop';
import { type CopyBandwidth, type DecodeBenchRow, type DecodeCrossover, DECODE_KERNELS, decodeCrossover } from './model-benches';
import { stepsSeen } from '../model/decode-graph';

export interface DecodeGridCell {
  preset: string;
  cache: CacheMode;
  batch: number;
  context: number;
  /** Ours: median ms per decode step (one token for each of the B sequences), and its quartiles. */
  oursMs: number;
  oursP25: number;
  oursP75: number;
  /**
   * How our steps waited for the GPU: 'end' (greedy on the device, as PyTorch's loop; a mean over chunks of steps) or
   * 'step' (logits read back every step; every record before the field existed).
   */
  sync: DecodeSync;
  /** PyTorch's median ms per step at the same point in the same folder, null when it has none. */
  torchMs: number | null;
  /** oursMs / torchMs: 1 is as fast, 2 twice as slow. */
  oursOverTorch: number | null;
  gpuDispatchesPerStep: number | null;
  /** Steps the decode's step graphs replayed, of all it ran (warm-up included); null: graphs off, or a record before them. */
  replayed: { steps: number; of: number } | null;
  /** GPU ms per step in the fused decode attention's kernels (0 where the profile has no GPU time). */
  attentionMs: number;
  floorMs: number;
  ratioToFloor: number;
  /**
   * The TFLOP/s our step reaches: the row's stepFlops (or, in records from before it, batch × decodeFlopsPerToken of
   * the record's config) over oursMs; null where the record holds neither.
   */
  tflops: number | null;
  /** The record the cell came from, and whether that record finished. */
  record: string;
  complete: boolean;
}

export interface DecodeGridSummary {
  dir: string;
  cells: DecodeGridCell[];
  /** Per preset and batch where absorbed, latent and full were all measured at some context. */
  crossovers: (DecodeCrossover & { preset: string })[];
  /** Each record's copy bandwidth (the floors' denominator). */
  records: { file: string; preset: string; batch: number; complete: boolean; copyBandwidth: CopyBandwidth }[];
  /** PyTorch points that no record of ours has (a stage of ours that never reached them). */
  torchOnly: { preset: string; cache: string; batch: number; context: number; torchMs: number }[];
  /** Our cells that failed (a device error, a binding too large), with the record's reason. */
  errors: { preset: string; cache: string; batch: number; context: number; error: string; record: string }[];
}

// JSON written by other programs (PyTorch) or by earlier versions of the bench: read field by field.
type Doc = any;

const key = (preset: string, cache: string, batch: number, context: number) => `${preset}|${cache}|${batch}|${context}`;

export function summarizeDecodeGrid(dir: string): DecodeGridSummary {
  if (!fs.existsSync(dir)) throw new BenchError(`${dir} does not exist; pass the folder decode-grid.sh wrote (its $OUT)`);
  const files = fs.readdirSync(dir).filter((f) => /^ours-.*\.json$/.test(f)).sort();
  const torchFile = path.join(dir, 'torch-decode.jsonl');
  if (files.length === 0 && !fs.existsSync(torchFile)) throw new BenchError(`${dir} has no ours-*.json and no torch-decode.jsonl: not a decode-grid.sh folder`);
  const torch = new Map<string, DecodeGridSummary['torchOnly'][number]>();
  if (fs.existsSync(torchFile)) {
    for (const [i, line] of fs.readFileSync(torchFile, 'utf8').split('\n').entries()) {
      if (!line.trim()) continue;
      let t: Doc;
      try {
        t = JSON.parse(line);
      } catch {
        throw new BenchError(`${torchFile} line ${i + 1} is not JSON; the file is damaged (rerun the PyTorch stage)`);
      }
      // PyTorch's msPerToken is per step (one token for each of the B sequences).
      torch.set(key(t.preset, t.cache, t.batch, t.promptLen), { preset: t.preset, cache: t.cache, batch: t.batch, context: t.promptLen, torchMs: t.msPerToken.median });
    }
  }
  const cells: DecodeGridCell[] = [];
  const records: DecodeGridSummary['records'] = [];
  const errors: DecodeGridSummary['errors'] = [];
  const byGroup = new Map<string, { preset: string; batch: number; rows: DecodeBenchRow[] }>(); // per preset and batch
  const attention = new Set<string>(DECODE_KERNELS.attention);
  for (const f of files) {
    let rec: Doc;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    } catch {
      throw new BenchError(`${path.join(dir, f)} is not JSON; the record is damaged`);
    }
    if (rec.kind !== 'decode' || !rec.results?.rows) throw new BenchError(`${path.join(dir, f)} is not an \`mla bench decode\` record`);
    const preset: string = rec.settings.preset;
    const batch: number = rec.settings.batch;
    const complete = rec.results.complete !== false; // records from before the field finished by definition
    records.push({ file: f, preset, batch, complete, copyBandwidth: rec.results.copyBandwidth });
    for (const r of rec.results.rows as Doc[]) {
      if ('error' in r) {
        errors.push({ preset, cache: r.cache, batch: r.batch, context: r.context, error: r.error, record: f });
        continue;
      }
      const row = r as DecodeBenchRow;
      const t = torch.get(key(preset, row.cache, row.batch, row.context))?.torchMs ?? null;
      const flops = row.stepFlops ?? (rec.settings.config ? row.batch * decodeFlopsPerToken(rec.settings.config, row.context, row.cache) : null);
      cells.push({
        preset, cache: row.cache, batch: row.batch, context: row.context,
        oursMs: row.msPerStep.median, oursP25: row.msPerStep.p25, oursP75: row.msPerStep.p75, sync: row.sync ?? 'step',
        torchMs: t, oursOverTorch: t === null ? null : row.msPerStep.median / t,
        gpuDispatchesPerStep: row.gpuDispatchesPerStep,
        replayed: row.graphs ? { steps: row.graphs.replayed, of: stepsSeen(row.graphs) } : null,
        attentionMs: (row.kernelTimes ?? []).filter((k) => attention.has(k.kernel)).reduce((s, k) => s + k.ms, 0),
        floorMs: row.floorMs, ratioToFloor: row.ratioToFloor, tflops: flops === null ? null : flops / (row.msPerStep.median * 1e9), record: f, complete,
      });
      const g = `${preset}|${row.batch}`;
      if (!byGroup.has(g)) byGroup.set(g, { preset, batch: row.batch, rows: [] });
      byGroup.get(g)!.rows.push(row);
    }
  }
  const crossovers: DecodeGridSummary['crossovers'] = [];
  for (const { preset, batch, rows } of byGroup.values()) {
    const x = decodeCrossover(rows, batch);
    if (x) crossovers.push({ preset, ...x });
  }
  const ours = new Set(cells.map((c) => key(c.preset, c.cache, c.batch, c.context)));
  const torchOnly = [...torch.entries()].filter(([k]) => !ours.has(k)).map(([, t]) => t);
  const order = (c: { preset: string; batch: number; cache: string; context: number }) => [c.preset, String(c.batch).padStart(4, '0'), c.cache, String(c.context).padStart(6, '0')].join('|');
  cells.sort((a, b) => order(a).localeCompare(order(b)));
  torchOnly.sort((a, b) => order(a).localeCompare(order(b)));
  errors.sort((a, b) => order(a).localeCompare(order(b)));
  return { dir, cells, crossovers, records, torchOnly, errors };
}
