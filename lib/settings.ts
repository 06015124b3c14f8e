// Runtime settings: every MLA_* environment variable the library reads, declared once with its default, parsed
// by one pure function of an environment object, and refused with one error class when a value is bad. The
// backend part (BackendSettings) is passed to initBackend and recorded with every run and benchmark, so a
// result says which shaders ran. This is the only library file that reads process.env (processEnv).
// An unset or empty variable takes the default (except MLA_WEBGPU_FUSED, where empty has always meant none).

import { ConfigError } from './config/validate';
import { DECODE_LINEAR_MAX_ROWS, DECODE_LINEAR_ROWS_LIMIT } from './ops/decode-linear';

/**
 * A bad setting: the variable (or flag), the value given and what is allowed, in one line. A ConfigError, so
 * the CLI prints it as a user's error (no stack) and callers that catch ConfigError catch it too.
 */
export class SettingsError extends ConfigError {
  constructor(
    readonly variable: string,
    value: string,
    allowed: string,
  ) {
    super(variable, value, allowed);
    this.message = `${variable}='${value}' is refused: ${allowed}`;
    this.name = 'SettingsError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const BACKEND_CHOICES = ['auto', 'cpu', 'webgpu', 'tensorflow'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/**
 * The groups of project shaders on WebGPU that MLA_WEBGPU_FUSED names, each checked against the tfjs ops it
 * replaces: fused causal attention, LayerNorm, the gradient norm's Σ x², rotary embeddings, AdamW (in place and
 * per parameter), sums over leading axes, MLA's per-head q/k/v layout, the cross-entropy, the dropout mask, the
 * decode cache written in place ('cache': without it caches append by concat) and the fused decode attention
 * ('decode': without it a decode step runs the unfused core), and a decode step's projections and column gathers ('step':
 * LayerNorm, Q/K/V, bias, relu and the residual in one matmul dispatch, heads and cache rows gathered and rotated in one;
 * without it a step runs the tfjs ops, as on the CPU).
 */
export const FUSED_GROUPS = ['attention', 'layernorm', 'norm', 'rope', 'adamw', 'sums', 'heads', 'loss', 'dropout', 'cache', 'decode', 'step'] as const;
export type FusedGroup = (typeof FUSED_GROUPS)[number];

export const MATMUL_POLICIES = ['tiled-wide', 'tiled', 'tfjs'] as const;
export type MatMulPolicy = (typeof MATMUL_POLICIES)[number];
/**
 * The matmul shader of the policy: only the pipelined one is left (the staged one, two barriers per K stage and
 * loads not overlapped, lost by 1–5% end to end on the H200; dev/README.md). The variable stays so that a run
 * asking for 'staged' is refused rather than silently given the pipelined one.
 */
export const MATMUL_SHADERS = ['pipelined'] as const;
export type MatMulShader = (typeof MATMUL_SHADERS)[number];
/** MLA_WEBGPU_MATMUL_DEPTH: K per stage of the policy's 128 × 128 tile (32 would pass 48 KB of workgroup memory). */
export const MATMUL_DEPTH_CHOICES = ['8', '16'] as const;

/**
 * Kernels recorded per queue submission (tfjs submits every 15). On the H100, while AdamW still ran as ~1,700
 * small ops per step, 64 per submit gave 1.45× the tokens/s of 15; with AdamW's own kernels 15, 64 and 256 are
 * within noise of each other and 1024 is slower (data/bench/device/session-2/).
 */
export const DEFAULT_SUBMIT_BATCH = 64;
export const DEFAULT_KEEP_FREED_MB = 1024;
/**
 * GiB of freed GPU buffers tfjs-backend-webgpu may keep for reuse (lib/backend/webgpu/buffer-pool.ts). Its pool
 * keeps every freed buffer forever, keyed by exact size: a prefill in pieces whose cache grows each piece frees
 * buffers of a new size every time, and on the H200 batch 16 × 16k and batch 64 × 4k absorbed decoding ran out of
 * its 139 GiB that way (data/bench/device/decode-grid-2026-12-03-h200/). 48 GiB leaves the rest of the H200 for a
 * batch-64 cache of 69 GB, and is above what a 35M training step frees and takes back; a ~300M step at 8 × 1024
 * tokens needs more: the bound costs it 8–11% of its tokens/s against the unbounded pool (same call, both orders:
 * data/bench/device/pool-bound-and-decode-kernels-2026-12-03b-h200/), so train those with 0 or a larger bound.
 */
export const DEFAULT_POOL_GIB = 48;
/** MLA_WEBGPU_DECODE_STEP_ROWS's default and largest value: the decode-linear op's (lib/ops imports no settings). */
export const DEFAULT_DECODE_STEP_ROWS = DECODE_LINEAR_MAX_ROWS;
export const MAX_DECODE_STEP_ROWS = DECODE_LINEAR_ROWS_LIMIT;
/**
 * Query rows per thread in fused attention's forward and dQ shaders (heads wider than 32 take 1 regardless).
 * Choosing 1 for narrow heads lost (H100: within noise end to end, forward shader 6.3 → 5.9 ms per step with 2;
 * dev/README.md), so 2 is the only value MLA_FLASH_ROWS accepts.
 */
export const FLASH_ROWS_CHOICES = ['2'] as const;
export const FLASH_TILE_KIB_CHOICES = ['16', '32'] as const;
/**
 * Absorbed MLA's decode attention by a latent shader (MLA_WEBGPU_DECODE_LATENT=on: 1.9–2.5× slower than the general
 * shader on the H200) and the general shader with staged keys (MLA_WEBGPU_DECODE_STAGE=on: 2× slower at 32k on the
 * H100) both lost and live in dev/ (dev/README.md): 'off' is all these variables accept, so a run asking for either
 * is refused rather than silently given the general shader.
 */
export const LOST_DECODE_CHOICES = ['off'] as const;
export const DEFAULT_FLASH_ROWS = 2;
/**
 * The fewest 64-key tiles one split of the decode attention takes (lib/backend/webgpu/kernels/decode-attention-wgsl.ts,
 * split-K). It was 8 (a split below 8 tiles was judged not worth the combine's extra dispatch), but at batch 1 the
 * shader is latency-bound: one call cost 0.28–0.39 ms at every context from 512 to 8k, about 8 tiles streamed one
 * after another (data/bench/device/decode-grid-2026-12-04b-h200/step/). With 1 the splits take one tile each, so
 * short caches split too: on the H200 (2026-12-04, third session, data/bench/device/decode-variants-2026-12-04c-h200/,
 * batch 1, 35M presets, 512–8k) the decode attention's GPU time per step fell from 1.4–3.0 ms to 0.3–1.3 and the
 * step's median from 7.2–10.1 ms to 5.5–12.1, faster in 9 of 12 cells. At large batch the splits stay capped by
 * the workgroups there already are (decodeMaxSplits), so this matters only where they are few.
 */
export const DEFAULT_DECODE_SPLIT_TILES = 1;
/**
 * Keys (and key dims) per step of the decode attention's inner loops, loads before FMAs. At batch 1 its workgroups
 * are few (2 for absorbed MLA, 16 for MHA), so each key's value loads wait on memory one after another; unrolled,
 * U of them are in flight. 1, the shader as first written, stays the default until the H200 says otherwise
 * (MLA_WEBGPU_DECODE_UNROLL=4 in scripts/device/decode-variants.sh).
 */
export const DECODE_UNROLL_CHOICES = ['1', '2', '4', '8'] as const;
/**
 * The decode attention's shader (lib/backend/webgpu/kernels/decode-attention-wgsl.ts's DecodeShaderChoice): rows
 * (default until the tiled and key-parallel shaders have run on a GPU: written 2026-12-07, tested only through the
 * WGSL simulator) the row-block shader everywhere; auto the tiled one where a head has more than 8 query rows and it fits the device's workgroup memory (absorbed
 * MLA), the key-parallel one for heads of one or two rows (MHA, MLA's full and latent modes), else the row-block
 * one; tiled or keys that one wherever its widths fit.
 */
export const DECODE_SHADER_CHOICES = ['auto', 'rows', 'tiled', 'piped', 'piped4', 'keys'] as const;
export const TIMESTAMP_MODES = ['precise', 'quantized'] as const;
export type TimestampMode = (typeof TIMESTAMP_MODES)[number];

export interface CpuSettings {
  /** MLA_NATIVE (default on; 0 keeps tfjs's JS kernels even when the addon is built, for comparisons). */
  native: boolean;
  /** MLA_THREADS: threads for BLAS and the addon's pool, 1–1024; null (the default) uses every core. */
  threads: number | null;
  /** MLA_KEEP_FREED_MB: MiB of freed memory the allocator keeps for reuse, 0–2047 (default 1024; 0 leaves it alone). */
  keepFreedMB: number;
  /** MLA_NATIVE_ADDON: another .node file for the addon (a debug build); null: the package's build. */
  addonPath: string | null;
}

export interface WebgpuSettings {
  /** MLA_WEBGPU_FUSED=all|none|a,b,…: the project shader groups registered (default all). */
  fused: FusedGroup[];
  /** MLA_WEBGPU_MATMUL: which products go to the project's matmul shader (default tiled-wide; tfjs: none). */
  matmul: MatMulPolicy;
  /** MLA_WEBGPU_MATMUL_SHADER: that shader, with the next K stage's loads overlapped (pipelined, the only value). */
  matmulShader: MatMulShader;
  /**
   * MLA_WEBGPU_MATMUL_DEPTH=8|16: K per stage of that shader (default 8: 1.05–1.2× depth 16 on the 35M step's large
   * products, 37 against 31 TFLOP/s at 4096², H100, data/bench/device/matmul-depth-piped-2026-12-07f-h100/).
   */
  matmulDepth: 8 | 16;
  /**
   * MLA_WEBGPU_FLASH_TILE_KIB=16|32: workgroup memory the fused attention's streamed tiles may take (default 16,
   * WebGPU's default limit; 32 keeps 64-row tiles for 35M MLA's 48 + 32-wide heads, on devices allowing it).
   */
  flashTileKiB: 16 | 32;
  /** MLA_FLASH_ROWS: query rows per thread in fused attention's forward and dQ shaders (2, the only value). */
  flashRows: 2;
  /** MLA_WEBGPU_LAYOUT_MEMO=on|off: the memo of bind group layouts (default on). */
  layoutMemo: boolean;
  /** MLA_WEBGPU_BIND_GROUP_CACHE=on|off: the cache of bind groups (default on). */
  bindGroupCache: boolean;
  /** MLA_WEBGPU_SUBMIT_BATCH: kernels per queue submit (default 64). */
  submitBatch: number;
  /** MLA_WEBGPU_DECODE_SPLIT_TILES: the fewest 64-key tiles per split of the decode attention, 1–64 (default 1). */
  decodeSplitTiles: number;
  /** MLA_WEBGPU_DECODE_UNROLL=1|2|4|8: keys per step of the decode attention's inner loops (default 1): the row shader's, and the piped shader's value loop where > 1 (else 4). */
  decodeUnroll: 1 | 2 | 4 | 8;
  /**
   * MLA_WEBGPU_DECODE_STEP_ROWS: the most rows (batch · new tokens) a decode step takes the fused step path for (its
   * decode linear, head gathers and cache writes from projection rows), 1–256 (default 16); past it the step runs
   * tfjs's ops (at batch 64 on the H100, 261 dispatches a step, tfjs matmuls half the GPU time).
   */
  decodeStepRows: number;
  /** MLA_WEBGPU_DECODE_SHADER=auto|rows|tiled|piped|keys: which decode-attention shader (default auto: the key-parallel one for heads of one or two rows, piped for 16 or more rows a head from AUTO_PIPED_MIN_KEYS cache rows over the batch, else rows; piped: the tiled one with its key chunks pipelined; piped4: piped with a 4 × 4 score tile a thread, opt-in until measured). */
  decodeShader: (typeof DECODE_SHADER_CHOICES)[number];
  /** MLA_WEBGPU_DAWN_FLAGS: flags for Dawn's Node binding, separated by spaces (default none). */
  dawnFlags: string[];
  /**
   * MLA_WEBGPU_TIMESTAMPS=precise|quantized: GPU timestamp queries as the GPU counts them, or rounded to Dawn's
   * 65.536 µs quantum (a browser's defence against timing attacks, on in Dawn by default; every kernel time recorded
   * before 2026-12-05 ticks at it). precise (default) disables Dawn's timestamp_quantization toggle.
   */
  timestamps: TimestampMode;
  /** MLA_WEBGPU_POOL_GIB: GiB of freed buffers kept for reuse, 0–1024 (default 48; 0: tfjs's unbounded pool). */
  poolGiB: number;
  /**
   * MLA_WEBGPU_DECODE_GRAPH=on|off: decode steps recorded and replayed as step graphs (lib/ops/step-graph.ts),
   * without tfjs's host time per dispatch (default on: `mla bench graph-check` found replayed logits bitwise equal
   * to eager ones in every cache mode at batch 1, 4 and 64 across cache growths, H100, 2026-12-07; batch-1 steps
   * 3-7x faster, data/bench/device/decode-graphs-2026-12-07-h100/).
   */
  decodeGraph: boolean;
  /**
   * MLA_WEBGPU_NULL_DEVICE=on|off: a WebGPU that runs nothing instead of Dawn (lib/backend/webgpu/null-gpu.ts), for
   * measuring a step's host side alone on a machine with no GPU; outputs are zeros (default off).
   */
  nullDevice: boolean;
}

/** What initBackend needs, and what describeBackend() records with every run and benchmark. */
export interface BackendSettings {
  /** --backend, else MLA_BACKEND, else auto. */
  choice: BackendChoice;
  cpu: CpuSettings;
  webgpu: WebgpuSettings;
}

export interface NotebookSettings {
  /** MLA_SCALE: the scale's name as given (checked by notebook/scale.ts, which knows the scales); null: the default. */
  scale: string | null;
  /** MLA_DATA: a data spec replacing the scale's; null: the scale's own. */
  data: string | null;
  /** MLA_ROOT: the folder results go under; null: the project root. */
  root: string | null;
  /** MLA_FORCE=1: retrain runs that are already finished (default 0). */
  force: boolean;
  /** MLA_TRAIN=1: train gpu/paper-scale runs on a CPU backend too (default 0). */
  train: boolean;
  /** MLA_CHROMIUM: the Chromium binary that renders figures; null: Debian's. */
  chromium: string | null;
}

export interface Settings {
  backend: BackendSettings;
  /** MLA_DATA_ROOT: the data root; null: the repository's data/ folder. */
  dataRoot: string | null;
  notebook: NotebookSettings;
  /** MLA_DEBUG=1: the stack of every CLI error (default 0). */
  debug: boolean;
}

/** Flags that take precedence over the environment (the CLI's --backend). */
export interface SettingsFlags {
  backend?: string;
}

/** An unset or empty variable is the default. */
function raw(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new SettingsError(name, value, `allowed: ${allowed.join(', ')} (default ${fallback})`);
}

/** A 0/1 switch (unset: off). */
function flag(env: Env, name: string, fallback = false): boolean {
  const v = raw(env, name);
  if (v === undefined) return fallback;
  if (v === '1' || v === '0') return v === '1';
  throw new SettingsError(name, v, `allowed: 1, 0 (default ${fallback ? 1 : 0})`);
}

function onOff(env: Env, name: string, fallback: 'on' | 'off'): boolean {
  return oneOf(name, raw(env, name), ['on', 'off'] as const, fallback) === 'on';
}

function wholeNumber(name: string, value: string | undefined, lo: number, hi: number, fallback: number | null, what: string): number | null {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < lo || n > hi) {
    throw new SettingsError(name, value, `allowed: a whole number from ${lo} to ${hi} (${what})`);
  }
  return n;
}

export function parseBackendChoice(value: string, source = 'backend'): BackendChoice {
  return oneOf(source, value, BACKEND_CHOICES, 'auto');
}

/** MLA_WEBGPU_FUSED: 'all' (the default), 'none', or a comma-separated list of FUSED_GROUPS. */
export function parseFusedGroups(value: string | undefined, name = 'MLA_WEBGPU_FUSED'): FusedGroup[] {
  if (value === undefined || value === 'all') return [...FUSED_GROUPS];
  if (value === 'none' || value === '') return [];
  const names = value.split(',').map((n) => n.trim());
  for (const n of names) {
    if (!(FUSED_GROUPS as readonly string[]).includes(n)) throw new SettingsError(name, value, `'${n}' is not a group; allowed: all, none, or a list of ${FUSED_GROUPS.join(', ')}`);
  }
  return FUSED_GROUPS.filter((g) => names.includes(g));
}

export function cpuSettingsFromEnv(env: Env): CpuSettings {
  return {
    native: flag(env, 'MLA_NATIVE', true),
    threads: wholeNumber('MLA_THREADS', raw(env, 'MLA_THREADS'), 1, 1024, null, 'threads; default every core'),
    keepFreedMB: wholeNumber('MLA_KEEP_FREED_MB', raw(env, 'MLA_KEEP_FREED_MB'), 0, 2047, DEFAULT_KEEP_FREED_MB, `MiB; default ${DEFAULT_KEEP_FREED_MB}, 0 turns the tuning off`)!,
    addonPath: raw(env, 'MLA_NATIVE_ADDON') ?? null,
  };
}

export function webgpuSettingsFromEnv(env: Env): WebgpuSettings {
  oneOf('MLA_FLASH_ROWS', raw(env, 'MLA_FLASH_ROWS'), FLASH_ROWS_CHOICES, '2');
  for (const name of ['MLA_WEBGPU_DECODE_LATENT', 'MLA_WEBGPU_DECODE_STAGE']) oneOf(name, raw(env, name), LOST_DECODE_CHOICES, 'off');
  return {
    fused: parseFusedGroups(env.MLA_WEBGPU_FUSED),
    matmul: oneOf('MLA_WEBGPU_MATMUL', raw(env, 'MLA_WEBGPU_MATMUL'), MATMUL_POLICIES, 'tiled-wide'),
    matmulShader: oneOf('MLA_WEBGPU_MATMUL_SHADER', raw(env, 'MLA_WEBGPU_MATMUL_SHADER'), MATMUL_SHADERS, 'pipelined'),
    matmulDepth: Number(oneOf('MLA_WEBGPU_MATMUL_DEPTH', raw(env, 'MLA_WEBGPU_MATMUL_DEPTH'), MATMUL_DEPTH_CHOICES, '8')) as 8 | 16,
    flashRows: DEFAULT_FLASH_ROWS,
    flashTileKiB: Number(oneOf('MLA_WEBGPU_FLASH_TILE_KIB', raw(env, 'MLA_WEBGPU_FLASH_TILE_KIB'), FLASH_TILE_KIB_CHOICES, '16')) as 16 | 32,
    layoutMemo: onOff(env, 'MLA_WEBGPU_LAYOUT_MEMO', 'on'),
    bindGroupCache: onOff(env, 'MLA_WEBGPU_BIND_GROUP_CACHE', 'on'),
    submitBatch: wholeNumber('MLA_WEBGPU_SUBMIT_BATCH', raw(env, 'MLA_WEBGPU_SUBMIT_BATCH'), 1, 2 ** 31 - 1, DEFAULT_SUBMIT_BATCH, `kernels per queue submit; default ${DEFAULT_SUBMIT_BATCH}`)!,
    decodeSplitTiles: wholeNumber('MLA_WEBGPU_DECODE_SPLIT_TILES', raw(env, 'MLA_WEBGPU_DECODE_SPLIT_TILES'), 1, 64, DEFAULT_DECODE_SPLIT_TILES, `64-key tiles per decode-attention split at least; default ${DEFAULT_DECODE_SPLIT_TILES}`)!,
    decodeUnroll: Number(oneOf('MLA_WEBGPU_DECODE_UNROLL', raw(env, 'MLA_WEBGPU_DECODE_UNROLL'), DECODE_UNROLL_CHOICES, '1')) as 1 | 2 | 4 | 8,
    decodeStepRows: wholeNumber('MLA_WEBGPU_DECODE_STEP_ROWS', raw(env, 'MLA_WEBGPU_DECODE_STEP_ROWS'), 1, MAX_DECODE_STEP_ROWS, DEFAULT_DECODE_STEP_ROWS, `rows a decode step takes the fused step path for at most; default ${DEFAULT_DECODE_STEP_ROWS}`)!,
    decodeShader: oneOf('MLA_WEBGPU_DECODE_SHADER', raw(env, 'MLA_WEBGPU_DECODE_SHADER'), DECODE_SHADER_CHOICES, 'auto'),
    dawnFlags: (env.MLA_WEBGPU_DAWN_FLAGS ?? '').split(' ').filter((f) => f.length > 0),
    timestamps: oneOf('MLA_WEBGPU_TIMESTAMPS', raw(env, 'MLA_WEBGPU_TIMESTAMPS'), TIMESTAMP_MODES, 'precise'),
    nullDevice: onOff(env, 'MLA_WEBGPU_NULL_DEVICE', 'off'),
    decodeGraph: onOff(env, 'MLA_WEBGPU_DECODE_GRAPH', 'on'),
    poolGiB: wholeNumber('MLA_WEBGPU_POOL_GIB', raw(env, 'MLA_WEBGPU_POOL_GIB'), 0, 1024, DEFAULT_POOL_GIB, `GiB; default ${DEFAULT_POOL_GIB}, 0 keeps every freed buffer`)!,
  };
}

export function backendSettingsFromEnv(env: Env, flags: SettingsFlags = {}): BackendSettings {
  const choice = flags.backend !== undefined ? parseBackendChoice(flags.backend, 'backend') : parseBackendChoice(raw(env, 'MLA_BACKEND') ?? 'auto', 'MLA_BACKEND');
  return { choice, cpu: cpuSettingsFromEnv(env), webgpu: webgpuSettingsFromEnv(env) };
}

export function notebookSettingsFromEnv(env: Env): NotebookSettings {
  return {
    scale: (env.MLA_SCALE ?? '').trim() || null,
    data: raw(env, 'MLA_DATA') ?? null,
    root: raw(env, 'MLA_ROOT') ?? null,
    force: flag(env, 'MLA_FORCE'),
    train: flag(env, 'MLA_TRAIN'),
    chromium: raw(env, 'MLA_CHROMIUM') ?? null,
  };
}

export function debugFromEnv(env: Env): boolean {
  return flag(env, 'MLA_DEBUG');
}

/** The variables through which a job array's scheduler names a task's index (Slurm, then Kubernetes Indexed Jobs). */
export const ARRAY_INDEX_VARIABLES = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'] as const;

/**
 * The job array index a scheduler set, and the variable it came from; undefined when none is set (an empty value
 * counts as unset: `mla sweep run --workers N` clears them for its children). A value that is not a whole number
 * throws a SettingsError naming the variable.
 */
export function arrayIndexFromEnv(env: Env): { index: number; variable: string } | undefined {
  for (const name of ARRAY_INDEX_VARIABLES) {
    const value = raw(env, name);
    if (value === undefined) continue;
    if (!/^\d+$/.test(value)) throw new SettingsError(name, value, "a job array's task index is a whole number ≥ 0: unset it or set it to the task's index");
    return { index: Number(value), variable: name };
  }
  return undefined;
}

/** Every setting, from an environment object (pure: tests pass their own). */
export function settingsFromEnv(env: Env, flags: SettingsFlags = {}): Settings {
  return {
    backend: backendSettingsFromEnv(env, flags),
    dataRoot: raw(env, 'MLA_DATA_ROOT') ?? null,
    notebook: notebookSettingsFromEnv(env),
    debug: debugFromEnv(env),
  };
}

/** The variables the backend settings read: a change to any of them parses them again. */
export const BACKEND_VARIABLES = [
  'MLA_BACKEND', 'MLA_NATIVE', 'MLA_THREADS', 'MLA_KEEP_FREED_MB', 'MLA_NATIVE_ADDON',
  'MLA_WEBGPU_FUSED', 'MLA_WEBGPU_MATMUL', 'MLA_WEBGPU_MATMUL_SHADER', 'MLA_WEBGPU_MATMUL_DEPTH', 'MLA_WEBGPU_FLASH_TILE_KIB', 'MLA_FLASH_ROWS', 'MLA_WEBGPU_LAYOUT_MEMO',
  'MLA_WEBGPU_BIND_GROUP_CACHE', 'MLA_WEBGPU_SUBMIT_BATCH', 'MLA_WEBGPU_DECODE_SPLIT_TILES', 'MLA_WEBGPU_DECODE_UNROLL', 'MLA_WEBGPU_DECODE_SHADER', 'MLA_WEBGPU_DECODE_STEP_ROWS', 'MLA_WEBGPU_DECODE_LATENT', 'MLA_WEBGPU_DECODE_STAGE', 'MLA_WEBGPU_DAWN_FLAGS', 'MLA_WEBGPU_TIMESTAMPS', 'MLA_WEBGPU_POOL_GIB',
  'MLA_WEBGPU_NULL_DEVICE', 'MLA_WEBGPU_DECODE_GRAPH',
];
export const NOTEBOOK_VARIABLES = ['MLA_SCALE', 'MLA_DATA', 'MLA_ROOT', 'MLA_FORCE', 'MLA_TRAIN', 'MLA_CHROMIUM'];

/** This process's environment: the one place the library reads it (lib/sweep/gpu.ts reads Vulkan's variables through it). */
export function processEnv(): NodeJS.ProcessEnv {
  return process.env;
}

/**
 * Sets variables in this process's environment, for what reads the C environment rather than these settings
 * (Vulkan's loader; lib/sweep/gpu.ts pins a GPU that way). Node writes process.env through to it.
 */
export function setProcessEnv(vars: Readonly<Record<string, string>>): void {
  Object.assign(process.env, vars);
}

/**
 * A part of the settings of this process's environment, parsed once and again only when one of its variables
 * changed (tests and notebook cells set process.env between calls). Each part is parsed where it is used, so a
 * bad WebGPU variable does not stop a notebook that only asks for its scale.
 */
function memo<T>(names: readonly string[], parse: (env: Env) => T): () => T {
  let last: { key: string; value: T } | null = null;
  return () => {
    const env = processEnv();
    const key = names.map((n) => env[n] ?? '\u0000').join('\u0001');
    if (last?.key !== key) last = { key, value: parse(env) };
    return last.value;
  };
}

const envBackend = memo(BACKEND_VARIABLES, (env) => backendSettingsFromEnv(env));
/** The notebook settings of this process's environment. */
export const notebookSettings = memo(NOTEBOOK_VARIABLES, notebookSettingsFromEnv);
/** MLA_DATA_ROOT of this process's environment (null: the repository's data/ folder). */
export const dataRootSetting = memo(['MLA_DATA_ROOT'], (env) => raw(env, 'MLA_DATA_ROOT') ?? null);

/** The backend settings of this process's environment, with the CLI's flags over them. */
export function backendSettings(flags: SettingsFlags = {}): BackendSettings {
  return flags.backend === undefined ? envBackend() : backendSettingsFromEnv(processEnv(), flags);
}

/** Every setting of this process's environment. */
export function currentSettings(): Settings {
  return { backend: backendSettings(), dataRoot: dataRootSetting(), notebook: notebookSettings(), debug: debugFromEnv(processEnv()) };
}
