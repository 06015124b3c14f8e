// The run folder: config.json (what was run, written once and rewritten atomically on resume), metrics.jsonl
// (append-only, one JSON object per line, keyed by step) and checkpoint/ (see checkpoints.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../checkpoint/atomic';
import { fsErrorFix } from '../checkpoint/errors';
import { TrainingError } from './errors';
import type { MetricsLine } from './types';

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINT_DIR = 'checkpoint';

/** Creates the folder and proves it writable with a probe file, before any training time is spent. */
export function ensureWritableDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, 'ok');
    fs.rmSync(probe);
  } catch (err) {
    throw new TrainingError(`output folder ${dir} is not writable (${(err as Error).message}); choose another --out`);
  }
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir` (undefined where statfs is missing). */
export function freeBytes(dir: string): number | undefined {
  if (typeof fs.statfsSync !== 'function') return undefined;
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

const MiB = 1024 * 1024;
const fmtMiB = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

/** Throws unless the filesystem of `dir` has `needed` bytes free. */
export function checkFreeSpace(dir: string, needed: number, what: string): void {
  const free = freeBytes(dir);
  if (free !== undefined && free < needed) {
    throw new TrainingError(`not enough disk space in ${dir}: ${what} needs about ${fmtMiB(needed)}, ${fmtMiB(free)} free; free some space or choose another --out`);
  }
}

/**
 * Bytes a training run may hold on disk at once: `sets` checkpoint sets (those kept, plus the new one being
 * written before the oldest goes), each the weights plus AdamW's two moments in float32, plus headers and logs.
 */
export function diskNeeded(paramCount: number, sets = 2): number {
  return sets * (3 * 4 * paramCount + MiB) + 4 * MiB;
}

export function readJsonFile<T>(file: string): T | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function writeJsonFile(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The lines of metrics.jsonl that parse (a line cut short by a kill does not). */
export function readMetrics(runDirOrFile: string): MetricsLine[] {
  return readJsonLines<MetricsLine>(runDirOrFile.endsWith('.jsonl') ? runDirOrFile : path.join(runDirOrFile, METRICS_FILE));
}

/** Every readable line of an append-only JSON-lines file ([] when it is missing). */
/**
 * The text of `file`, else of `file`.gz: a finished run's metrics are committed gzipped (a fifth of the size;
 * every committed folder travels to the GPU machine, whose carry limit is 64 MiB). Undefined when neither exists.
 */
function readTextOrGzipped(file: string): string | undefined {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const gz = `${file}.gz`;
  if (!fs.existsSync(gz)) return undefined;
  try {
    return gunzipSync(fs.readFileSync(gz)).toString('utf8');
  } catch (e) {
    throw new TrainingError(`${gz} is not a readable gzip file (${(e as Error).message}); restore it (git checkout -- ${gz}) or delete the run folder to retrain it`);
  }
}

export function readJsonLines<T>(file: string): T[] {
  const text = readTextOrGzipped(file);
  if (text === undefined) return [];
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A partial last line from a killed process: what it held is written again on resume.
    }
  }
  return out;
}

/**
 * Drops every line after `step` (and any unreadable line) so a resumed run does not log a step twice; the
 * lines up to `step` are kept byte for byte. Rewritten atomically, so a kill here loses nothing.
 */
export function truncateMetrics(file: string, step: number): { kept: number; dropped: number } {
  if (!fs.existsSync(file)) return { kept: 0, dropped: 0 };
  const kept: string[] = [];
  let dropped = 0;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let s: number | undefined;
    try {
      s = (JSON.parse(line) as { step?: number }).step;
    } catch {
      s = undefined;
    }
    if (typeof s === 'number' && s <= step) kept.push(line);
    else dropped++;
  }
  if (dropped) writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
  return { kept: kept.length, dropped };
}

/** Append-only JSON-lines writer. Each line goes to the kernel at once, so a killed process keeps every line written. */
export class MetricsLog {
  private fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  append(line: MetricsLine): void {
    try {
      fs.writeSync(this.fd, JSON.stringify(line) + '\n');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const fix = fsErrorFix(code);
      if (!fix) throw err;
      throw new TrainingError(`cannot append to ${this.file} (${code}): ${fix}; then continue with --resume`);
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}
