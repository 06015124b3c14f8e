// The inference studies of a scale (the study's timing experiment, and decode cost against context) as run
// folders, like the training runs: written once as data, found again by what defines them, redrawn from the
// files. Times depend on the machine, so the folder is keyed by backend and device too, and a notebook can show
// the GPU's and the CPU's side by side:
//   <runs>/<study>-<backend>-<device>-<hash10>/spec.json    what was measured, where
//   <runs>/<study>-<backend>-<device>-<hash10>/rows.jsonl   one row per point, appended as measured
//   <runs>/<study>-<backend>-<device>-<hash10>/copy-bandwidth.json  the copy bandwidth the rows' floors divide by
//   <runs>/<study>-<backend>-<device>-<hash10>/result.json  written last: the study is finished
// A study stopped part-way resumes at its first series with missing rows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { describeBackend, withDeviceErrorScope } from '../backend';
import { type CopyBandwidth, measureCopyBandwidth } from '../bench/model-benches';
import type { DecodeCostScale, TimingScale } from '../notebook/scale';
import { readJsonFile, readJsonLines, writeJsonFile } from '../train/run-dir';
import { canonical, refuseNullDeviceResults } from './runs';
import { DecodeCostRow, runDecodeCostStudy, runTimingStudy, studyTimingSeries, TimingRow, TimingSeries } from './timing-study';

export type InferenceStudy = 'timing' | 'decodeCost';

export interface InferenceResult<Row> {
  study: InferenceStudy;
  spec: TimingScale | DecodeCostScale;
  backend: string;
  device: string;
  /**
   * The copy bandwidth measured once for the study on its backend, which every row's floorMs divides by. null in
   * folders finished before it was recorded (their rows have null floors).
   */
  copyBandwidth?: CopyBandwidth | null;
  rows: Row[];
  dir: string;
  finishedAt: string;
}

/**
 * Bumped when what a study measures changes, so old folders are not read as new ones. Not for the floor
 * columns (decodeCost and timing): they are added beside the measured ones, which did not change, and an older folder loads with
 * null floors rather than being measured again.
 */
export const INFERENCE_FORMAT = 1;

/** The decode-cost study's lines: MHA's cache and MLA's three, on models whose maxSeqLen reaches the contexts. */
export function decodeCostSeries(d: DecodeCostScale): TimingSeries[] {
  const big = { maxSeqLen: d.maxSeqLen };
  return [
    { label: 'MHA (KV cache)', preset: d.mha, overrides: big, cache: 'kv' },
    { label: 'MLA (full K/V cache)', preset: d.mla, overrides: big, cache: 'full' },
    { label: 'MLA (latent, re-expanded)', preset: d.mla, overrides: big, cache: 'latent' },
    { label: 'MLA (latent, absorbed)', preset: d.mla, overrides: big, cache: 'absorbed' },
  ];
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

export function inferenceDir(runsDir: string, study: InferenceStudy, spec: TimingScale | DecodeCostScale, backend: string, device: string): string {
  const hash = createHash('sha256').update(canonical({ study, spec, backend, device, format: INFERENCE_FORMAT })).digest('hex').slice(0, 10);
  return path.join(runsDir, `${study}-${slug(backend)}-${slug(device)}-${hash}`);
}

export interface InferenceRunOptions {
  runsDir: string;
  /** Re-measure even when the study is finished on this backend and device. */
  force?: boolean;
  log?: (line: string) => void;
}

/** A finished result as stored, with the floor fields older folders lack filled in as null. */
function readResult<Row>(dir: string): InferenceResult<Row> | undefined {
  const r = readJsonFile<InferenceResult<Row>>(path.join(dir, 'result.json'));
  if (!r) return undefined;
  const rows = (r.rows as Partial<DecodeCostRow | TimingRow>[]).map((x) => ({ ...x, floorMs: x.floorMs ?? null, ratioToFloor: x.ratioToFloor ?? null })) as Row[];
  return { ...r, copyBandwidth: r.copyBandwidth ?? null, rows, dir };
}

async function ensureStudy<Row extends { series: string }, Extra extends object = object>(
  study: InferenceStudy,
  spec: TimingScale | DecodeCostScale,
  series: TimingSeries[],
  pointsPerSeries: number,
  measure: (s: TimingSeries, onRow: (r: Row) => void, extra: Extra) => Promise<unknown>,
  o: InferenceRunOptions,
  /** Measured once per study folder before its series (kept in the folder, so a resumed study reuses it); stored in the result. */
  prepare: (dir: string) => Promise<Extra> = async () => ({}) as Extra,
): Promise<InferenceResult<Row>> {
  const { backend, device } = describeBackend();
  const dir = inferenceDir(o.runsDir, study, spec, backend, device);
  const done = readResult<Row>(dir);
  if (done && !o.force) return done;
  refuseNullDeviceResults(dir, study);
  if (o.force && fs.existsSync(dir)) fs.renameSync(dir, `${dir}.replaced-${Date.now()}`);
  fs.mkdirSync(dir, { recursive: true });
  writeJsonFile(path.join(dir, 'spec.json'), { study, spec, backend, device, format: INFERENCE_FORMAT });
  const rowsFile = path.join(dir, 'rows.jsonl');
  // Keep only whole series: a series cut part-way is measured again from its start.
  const old = readJsonLines<Row>(rowsFile);
  const complete = series.filter((s) => old.filter((r) => r.series === s.label).length === pointsPerSeries).map((s) => s.label);
  const rows = old.filter((r) => complete.includes(r.series));
  fs.writeFileSync(rowsFile, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  const extra = await prepare(dir);
  for (const s of series) {
    if (complete.includes(s.label)) continue;
    o.log?.(`${study}: ${s.label} on ${backend} (${device})`);
    // A series is kept once its Dawn error scope ended clean (on WebGPU; other backends have none): timings of a
    // dropped command buffer would otherwise stand in rows.jsonl as a whole series, reused by the next call.
    const fresh: Row[] = [];
    await withDeviceErrorScope(() => measure(s, (r) => fresh.push(r), extra), `${study}: ${s.label}`);
    for (const r of fresh) {
      rows.push(r);
      fs.appendFileSync(rowsFile, JSON.stringify(r) + '\n');
    }
  }
  const result: InferenceResult<Row> = { study, spec, backend, device, ...extra, rows, dir, finishedAt: new Date().toISOString() };
  writeJsonFile(path.join(dir, 'result.json'), result);
  return result;
}

/** The study's timing experiment on the current backend, reused when already measured there. */
export function ensureTimingStudy(t: TimingScale, o: InferenceRunOptions): Promise<InferenceResult<TimingRow>> {
  const series = studyTimingSeries(t.presets[0], t.presets[1]);
  return ensureStudy<TimingRow, { copyBandwidth: CopyBandwidth }>(
    'timing', t, series, 2 * t.lengths.length,
    (s, onRow, { copyBandwidth }) => runTimingStudy([s], { lengths: t.lengths, fixed: t.fixed, repeats: t.repeats, warmup: 1, onRow, copyBandwidth }), o,
    (dir) => studyCopyBandwidth('timing', dir, o),
  );
}

/** Decode cost against context on the current backend, reused when already measured there. */
export function ensureDecodeCostStudy(d: DecodeCostScale, o: InferenceRunOptions): Promise<InferenceResult<DecodeCostRow>> {
  return ensureStudy<DecodeCostRow, { copyBandwidth: CopyBandwidth }>(
    'decodeCost', d, decodeCostSeries(d), d.contexts.length,
    (s, onRow, { copyBandwidth }) => runDecodeCostStudy([s], d.contexts, d.steps, onRow, copyBandwidth), o,
    (dir) => studyCopyBandwidth('decodeCost', dir, o),
  );
}

/** Once per study folder: rows kept from a stopped run divide by the bandwidth they were measured with. */
async function studyCopyBandwidth(study: InferenceStudy, dir: string, o: InferenceRunOptions): Promise<{ copyBandwidth: CopyBandwidth }> {
  const file = path.join(dir, 'copy-bandwidth.json');
  const kept = readJsonFile<CopyBandwidth>(file);
  if (kept) return { copyBandwidth: kept };
  const copyBandwidth = await withDeviceErrorScope(() => measureCopyBandwidth(), `${study}: copy bandwidth`);
  writeJsonFile(file, copyBandwidth);
  o.log?.(`${study}: copy bandwidth ${copyBandwidth.gbPerS.toFixed(1)} GB/s (${(copyBandwidth.bytes / 2 ** 20).toFixed(0)} MiB copied) on ${describeBackend().backend}`);
  return { copyBandwidth };
}

/** Every finished result of a study with this spec in `runsDir`, whatever machine measured it (GPU and CPU). */
export function findInferenceResults<Row>(runsDir: string, study: InferenceStudy, spec: TimingScale | DecodeCostScale): InferenceResult<Row>[] {
  if (!fs.existsSync(runsDir)) return [];
  const want = canonical(spec);
  return fs
    .readdirSync(runsDir)
    .filter((n) => n.startsWith(`${study}-`) && !n.includes('.replaced-'))
    .sort()
    .map((n) => readResult<Row>(path.join(runsDir, n)))
    .filter((r): r is InferenceResult<Row> => r !== undefined && r.study === study && canonical(r.spec) === want);
}
