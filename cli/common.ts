// Pieces every subcommand shares: flag parsing with clear errors, --json output, config resolution,
// backend start-up with one line saying where the run computes.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { ModelConfig } from '../lib/config/model-config';
import type { CacheMode } from '../lib/costs/cache-modes';
import { CACHE_QUANT_FORMATS, CacheQuant, CacheQuantFormat, DEFAULT_QUANT_GROUP_SIZE, checkCacheQuantFor } from '../lib/costs/kv-cache';
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

// --- a quantized latent cache (mla generate, mla logits) ---

export const CACHE_QUANT_OPTIONS = { 'cache-quant': { type: 'string' }, 'group-size': { type: 'string' } } as const satisfies Options;

export const CACHE_QUANT_HELP = `  --cache-quant F  ${CACHE_QUANT_FORMATS.join('|')}: store MLA's latent cache (--cache latent|absorbed only) as int8 or
                   int4 codes with one fp32 absmax scale per G latent dims, or as simulated fp8 (e4m3); the
                   RoPE key stays fp32; none = fp32, as without the flag (lib/quant, bytes in 'mla info')
  --group-size G   latent dims sharing one scale (default ${DEFAULT_QUANT_GROUP_SIZE}); only with --cache-quant`;

/** --cache-quant and --group-size as a CacheQuant (undefined without --cache-quant): the flags alone, before any work. */
export function cacheQuantFromFlags(command: string, format: string | undefined, groupSize: string | undefined): CacheQuant | undefined {
  if (format === undefined) {
    if (groupSize !== undefined) throw new CliError(`${command}: --group-size applies only with --cache-quant; add --cache-quant int8 (or int4, fp8), or drop --group-size`);
    return undefined;
  }
  if (!CACHE_QUANT_FORMATS.includes(format as CacheQuantFormat)) {
    throw new CliError(`${command}: --cache-quant '${format}' is not one of ${CACHE_QUANT_FORMATS.join(', ')}`);
  }
  return { format: format as CacheQuantFormat, groupSize: requireInt(command, 'group-size', groupSize, 1) ?? DEFAULT_QUANT_GROUP_SIZE };
}

/**
 * Refuses a quantized cache where the model has no latent cache to quantize (lib/costs' rule), as one line with
 * the fix: another --cache for MLA, no --cache-quant for the other kinds. Needs only the config, so it runs before
 * the backend starts or the weights are read.
 */
export function checkCacheQuantFlags(command: string, config: ModelConfig, mode: CacheMode, quant: CacheQuant, modeIsDefault = false): void {
  try {
    checkCacheQuantFor(config, mode, quant);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err; // a cache mode of another kind: its own ConfigError says so
    const why = `--cache-quant ${quant.format} applies only to MLA's latent cache (--cache latent or absorbed)`;
    throw new CliError(
      config.attention === 'mla'
        ? `${command}: ${why}, not --cache ${mode}${modeIsDefault ? ' (the default)' : ''}; pass --cache latent or --cache absorbed, or drop --cache-quant`
        : `${command}: ${why}; this model's attention is '${config.attention}', which has none: drop --cache-quant`,
    );
  }
}

/** Prints data as JSON, or the text rendering. */
export function output(json: boolean, data: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : text());
}

/** A fixed-width text table. */
export function textTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => header.map((_, i) => (i < r.length ? String(r[i]) : '')))]; // a short row: blank cells
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}
