// What every benchmark writes: one JSON file per run under data/bench/, named <kind>-<timestamp>.json,
// saying what ran where (backend, device, commit, machine, settings) next to the numbers.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic';
import { type BackendDescription, describeBackend } from '../backend';
import { type MachineInfo, provenance } from '../provenance';

export type { MachineInfo } from '../provenance';

export interface BenchRecord<S = Record<string, unknown>, R = unknown> {
  kind: string;
  /** ISO time the run started. */
  startedAt: string;
  gitCommit: string | null;
  /** True when the working tree had uncommitted changes (the commit alone does not pin the code). */
  gitDirty: boolean | null;
  machine: MachineInfo;
  backend: BackendDescription;
  settings: S;
  results: R;
}

/** A record of the active backend on this machine, started now. */
export function startRecord<S, R>(kind: string, settings: S, results: R): BenchRecord<S, R> {
  const { commit, dirty, machine } = provenance();
  return {
    kind,
    startedAt: new Date().toISOString(),
    gitCommit: commit,
    gitDirty: dirty,
    machine,
    backend: describeBackend(),
    settings,
    results,
  };
}

/**
 * Writes the record and returns its path: to `out` itself when it ends in .json (what the GPU-machine scripts
 * ask for: a fixed name they collect), else as <out>/<kind>-<timestamp>.json (default data/bench/).
 */
export function writeRecord(record: BenchRecord<unknown, unknown>, out = path.join('data', 'bench')): string {
  const file = out.endsWith('.json') ? out : path.join(out, `${record.kind}-${record.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

export interface RepeatOptions {
  /** Untimed calls first (JIT, caches, allocator)... */
  warmup: number;
  /**
   * ...and more while under this many milliseconds: until the first garbage collections have returned
   * freed tensors to the allocator, every output lands on never-touched memory and pays page faults.
   */
  warmupMs: number;
  /** Timed calls at least... */
  minRepeats: number;
  /** ...and more, up to maxRepeats, while the timed total stays under budgetMs. */
  maxRepeats: number;
  budgetMs: number;
}

/**
 * Times several functions in alternation (a, b, a, b, ...) so that a change in machine load during the
 * run affects them alike, which keeps their ratio meaningful. Returns milliseconds per call for each.
 */
export async function timeInterleaved(fns: readonly (() => unknown | Promise<unknown>)[], opts: RepeatOptions): Promise<number[][]> {
  const warmStart = performance.now();
  for (let w = 0; w < opts.warmup || performance.now() - warmStart < opts.warmupMs; w++) {
    for (const f of fns) await f();
  }
  const times = fns.map(() => [] as number[]);
  let spent = 0;
  for (let r = 0; r < opts.maxRepeats && (r < opts.minRepeats || spent < opts.budgetMs); r++) {
    for (let i = 0; i < fns.length; i++) {
      const t0 = performance.now();
      await fns[i]();
      const dt = performance.now() - t0;
      times[i].push(dt);
      spent += dt;
    }
  }
  return times;
}
