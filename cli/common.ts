// Pieces every subcommand shares: flag parsing with clear errors, --json output, config resolution,
// backend start-up with one line saying where the run computes.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { ModelConfig } from '../lib/config/model-config';
import { parseOverrides, resolveConfig } from '../lib/config/presets';
import { BACKEND_CHOICES, initBackend } from '../lib/backend/init';
import type { BackendInit } from '../lib/backend/init';
import { CliError } from './errors';
import { backendSettings } from '../lib/settings';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every subcommand accepts. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export const BACKEND_OPTION = { backend: { type: 'string' } } as const satisfies Options;

export const MODEL_OPTIONS = {
  preset: { type: 'string' },
  set: { type: 'string', multiple: true, default: [] as string[] },
} as const satisfies Options;

/** parseArgs with the subcommand's name in every error, and no positional arguments unless allowed. */
type FlagValue<T> = T extends { type: 'boolean' } ? (T extends { multiple: true } ? boolean[] : boolean) : T extends { multiple: true } ? string[] : string;

/** What parseFlags returns: each flag's value (undefined when absent and without a default). */
export interface ParsedFlags<O extends Options> {
  values: { [K in keyof O]?: FlagValue<O[K]> } & { json: boolean; help: boolean };
  positionals: string[];
}

export function parseFlags<O extends Options>(command: string, argv: string[], options: O, allowPositionals = false): ParsedFlags<O> {
  try {
    const parsed = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
    return parsed as unknown as ParsedFlags<O>;
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`, `run 'mla ${command} --help' for its flags`);
  }
}

export function modelConfigFromFlags(command: string, preset: string | undefined, set: string[] | undefined): ModelConfig {
  if (!preset) throw new CliError(`${command}: --preset NAME is required`, "run 'mla presets' to list them");
  return resolveConfig(preset, parseOverrides(set ?? []));
}

export function requireInt(command: string, flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${command}: --${flag} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}

export function requireNumber(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new CliError(`${command}: --${flag} must be a number, got '${value}'`);
  return n;
}

/** Comma-separated integers, e.g. --ids 1,2,3. */
export function parseIdList(command: string, flag: string, value: string | undefined, what = 'token ids'): number[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s))) throw new CliError(`${command}: --${flag} takes comma-separated ${what}, got '${value}'`);
  return ids.map(Number);
}

/**
 * Starts the backend named by --backend (else MLA_BACKEND, else auto) with the rest of the backend settings from
 * the environment (lib/settings.ts), and says which one runs, on stderr.
 */
export async function startBackend(choice: string | undefined, quiet = false): Promise<BackendInit> {
  const init = await initBackend(backendSettings({ backend: choice }));
  if (!quiet) {
    for (const note of init.notes) console.error(`note: ${note}`);
    console.error(`backend: ${init.backend} (${init.device}${init.native ? ', native kernels' : ''})`);
  }
  return init;
}

export const BACKEND_HELP = `  --backend B      ${BACKEND_CHOICES.join('|')} (default: $MLA_BACKEND, else auto)`;

/** Prints data as JSON, or the text rendering. */
export function output(json: boolean, data: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : text());
}

/** A fixed-width text table. */
export function textTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
