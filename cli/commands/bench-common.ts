// What every `mla bench <kind>` shares: the backend flags, starting the backend with one line saying where the
// run computes, and the end of a run on WebGPU (Dawn holds the process open while a device exists).
import { type BackendInit, type CpuOptions, exitProcess, initBackend } from '../../lib/backend';
import { backendSettings } from '../../lib/settings';
import { CliError } from '../errors';
import { BACKEND_HELP, requireInt, requireNumber } from '../common';

export const CPU_FLAGS = {
  backend: { type: 'string' },
  threads: { type: 'string' },
  native: { type: 'string' },
  kernels: { type: 'string' },
  out: { type: 'string' },
} as const;

export const CPU_HELP = `${BACKEND_HELP}
  --threads N      CPU threads for BLAS and the native kernels (default: $MLA_THREADS, else all cores)
  --native on|off  native CPU kernels (default on when built; $MLA_NATIVE=0 turns them off)
  --kernels LIST   register only these native kernels, e.g. BatchMatMul,_FusedMatMul (for comparisons)
  --out DIR|F.json where the record goes: a folder (default data/bench) gets <kind>-<timestamp>.json; a path
                   ending in .json is the record itself
  --json           print the record as JSON`;

export interface CpuFlagValues {
  backend?: string;
  threads?: string;
  native?: string;
  kernels?: string;
}

export async function startBench(command: string, v: CpuFlagValues, quiet: boolean): Promise<BackendInit> {
  if (v.native !== undefined && v.native !== 'on' && v.native !== 'off') {
    throw new CliError(`${command}: --native must be on or off, got '${v.native}'`);
  }
  const cpu: CpuOptions = {
    threads: requireInt(command, 'threads', v.threads, 1),
    native: v.native === undefined ? undefined : v.native === 'on',
    kernels: v.kernels?.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
  };
  const init = await initBackend(backendSettings({ backend: v.backend }), cpu);
  if (!quiet) {
    for (const note of init.notes) console.error(`note: ${note}`);
    console.error(`backend: ${init.backend} (${init.device}${init.native ? ', native kernels' : ''})`);
  }
  return init;
}

/** A number of seconds > 0, or undefined when the flag is absent. */
export function requireSeconds(command: string, flag: string, value: string | undefined): number | undefined {
  const n = requireNumber(command, flag, value);
  if (n !== undefined && !(n > 0 && Number.isFinite(n))) throw new CliError(`${command}: --${flag} must be a number of seconds > 0, got '${value}'`);
  return n;
}

/** A comma-separated list of names, each one of `known`. */
export function parseNameList(command: string, flag: string, raw: string | undefined, known: readonly string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = names.filter((n) => !known.includes(n));
  if (names.length === 0 || bad.length) throw new CliError(`${command}: --${flag} '${raw}': ${bad.length ? `unknown ${bad.join(', ')}` : 'empty'}; known: ${known.join(', ')}`);
  return names;
}

/**
 * After a benchmark that ran on WebGPU: the process ends once stdout and stderr drain (Dawn would hold it open).
 * Elsewhere it only returns the code.
 */
export function finishBench(code: number): number {
  exitProcess(code);
  return code;
}
