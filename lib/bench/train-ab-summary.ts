// A scripts/device/train-ab.sh folder as one table: its ours-PRESET-VARIANT-rROUND.json records (`mla bench train`,
// one per preset, variant — a set of settings — and round, the rounds alternating the variants in one call) and the
// PyTorch records beside them (torch-PRESET-IMPL.json, scripts/torch/bench_train.py), per preset: each variant's
// median tokens/s per round, their mean, its ratio to the base variant and to PyTorch's SDPA, and the settings of the
// library that differ between the variants (read from the records, not from the names).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchError } from './errors';
import { type Doc, readRecordJson } from './read-json';

export interface TrainAbVariant {
  variant: string;
  /** Median tokens/s of each round's record, in round order. */
  rounds: number[];
  mean: number;
  /** mean / the base variant's mean. */
  overBase: number;
  /** mean / PyTorch SDPA's median tokens/s; null without its record. */
  overTorch: number | null;
  /** The webgpu (or cpu) settings of this variant's first record that differ from the base's. */
  settings: Record<string, unknown>;
}

export interface TrainAbPreset {
  preset: string;
  base: string;
  /** PyTorch's median tokens/s per attention implementation (sdpa, manual), with its device and precision. */
  torch: { impl: string; tokensPerSec: number; deviceName: string; tf32: boolean | null }[];
  variants: TrainAbVariant[];
}

export interface TrainAbSummary {
  dir: string;
  presets: TrainAbPreset[];
}

const ROUND = /-r(\d+)\.json$/;

/** The settings a record ran under: the backend's own part (webgpu or cpu), as recorded. */
function backendSettingsOf(rec: Doc): Record<string, unknown> {
  const s = rec.backend?.backendSettings ?? {};
  const name = rec.backend?.backend === 'cpu' ? 'cpu' : 'webgpu';
  return (s[name] ?? {}) as Record<string, unknown>;
}

/** The folder's A/B table. `base`: the variant the ratios are to (default: the first to run, AB's first). */
export function summarizeTrainAb(dir: string, base?: string): TrainAbSummary {
  if (!fs.existsSync(dir)) throw new BenchError(`${dir} does not exist; pass the folder train-ab.sh wrote (unpacked from train-ab.tgz)`);
  const files = fs.readdirSync(dir).sort();
  const ours = files.filter((f) => f.startsWith('ours-') && ROUND.test(f));
  if (ours.length === 0) throw new BenchError(`${dir} has no ours-PRESET-VARIANT-rN.json records: not a train-ab.sh folder`);
  type Run = { variant: string; round: number; tokensPerSec: number; settings: Record<string, unknown>; startedAt: string };
  const runs = new Map<string, Run[]>(); // preset → runs
  for (const f of ours) {
    const rec = readRecordJson(path.join(dir, f));
    const preset = rec.settings?.preset;
    const median = rec.results?.tokensPerSec?.median;
    if (rec.kind !== 'train' || typeof preset !== 'string') throw new BenchError(`${path.join(dir, f)} is not an \`mla bench train\` record`);
    const prefix = `ours-${preset}-`;
    if (!f.startsWith(prefix)) throw new BenchError(`${path.join(dir, f)}: its preset ${preset} is not the one its name gives`);
    if (typeof median !== 'number') throw new BenchError(`${path.join(dir, f)} has no tokens/s (its run failed: see log.txt)`);
    const round = Number(ROUND.exec(f)![1]);
    const variant = f.slice(prefix.length).replace(ROUND, '');
    runs.set(preset, [...(runs.get(preset) ?? []), { variant, round, tokensPerSec: median, settings: backendSettingsOf(rec), startedAt: String(rec.startedAt ?? '') }]);
  }
  const presets: TrainAbPreset[] = [];
  for (const [preset, rs] of runs) {
    rs.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.round - b.round);
    const names = [...new Set(rs.map((r) => r.variant))];
    if (base !== undefined && !names.includes(base)) throw new BenchError(`${dir}: ${preset} has no variant ${base}; its variants: ${names.join(', ')}`);
    const baseName = base ?? names[0];
    const torch = files
      .filter((f) => f.startsWith(`torch-${preset}-`) && f.endsWith('.json'))
      .map((f) => ({ f, rec: readRecordJson(path.join(dir, f)) }))
      .filter(({ rec }) => typeof rec.tokensPerSec?.median === 'number')
      .map(({ f, rec }) => ({ impl: String(rec.attnImpl ?? f.slice(`torch-${preset}-`.length, -5)), tokensPerSec: rec.tokensPerSec.median as number, deviceName: String(rec.deviceName ?? rec.device ?? '?'), tf32: typeof rec.tf32 === 'boolean' ? rec.tf32 : null }));
    const sdpa = torch.find((t) => t.impl === 'sdpa')?.tokensPerSec ?? null;
    const means = new Map(names.map((n) => {
      const r = rs.filter((x) => x.variant === n).map((x) => x.tokensPerSec);
      return [n, r.reduce((s, x) => s + x, 0) / r.length];
    }));
    const baseSettings = rs.find((r) => r.variant === baseName)!.settings;
    presets.push({
      preset,
      base: baseName,
      torch,
      variants: names.map((n) => {
        const first = rs.find((r) => r.variant === n)!;
        const differ = Object.fromEntries(Object.entries(first.settings).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(baseSettings[k])));
        const mean = means.get(n)!;
        return { variant: n, rounds: rs.filter((r) => r.variant === n).map((r) => r.tokensPerSec), mean, overBase: mean / means.get(baseName)!, overTorch: sdpa === null ? null : mean / sdpa, settings: differ };
      }),
    });
  }
  return { dir, presets };
}
