// Benchmarks of the real model: decode time per step in every cache mode, context and batch, next to what the
// step must read (lib/costs decodeStepBytes) over a copy bandwidth measured in the same run: the memory-traffic
// floor. Also the kernels one step launches (on WebGPU each is a dispatch, and host time per dispatch is what
// bounds small decodes there) and the context past which absorbed MLA beats latent and full. (Training
// throughput through the trainer is train.ts.)
// Shape legend: B batch, S context (tokens cached per sequence).
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../config/model-config';
import { type CacheMode, cacheModesFor } from '../costs/cache-modes';
import { type DecodeStepBytes, decodeStepBytes, largestDecodeTensorBytes } from '../costs/decode-bytes';
import { decodeFlopsPerToken } from '../costs/flops';
import { gpuDispatchCount, gpuErrorScope, releasePooledMemory, storageBindingLimit } from '../backend';
import { kvCacheBytesForContext } from '../costs/kv-cache';
import { prefill, tiledPrefill } from '../generate/prefill';
import { type DecodeSync, DECODE_SYNCS, greedyNext, timedDecodeSteps } from '../generate/decode-loop';
import { type Spread, spread } from '../experiments/stats';
import { kernelTimes } from './profile';
import { createModel, type DecodeState, type GPT } from '../model/gpt';
import type { DecodeGraphStats } from '../model/decode-graph';
import { CACHE_WRITE_FROM_KERNEL, CACHE_WRITE_KERNEL, cacheWrite, decodeAttentionKernelName, hasCacheWriteKernel } from '../ops';

export interface DecodeBenchSettings {
  /** Cache modes, each one the model supports ('none' too). */
  modes: CacheMode[];
  /** Tokens already cached per sequence when the timed steps run. */
  contexts: number[];
  /** Sequences decoded together (1..64). */
  batch: number;
  /** Timed steps per (mode, context), after `warmup` untimed ones. */
  steps: number;
  warmup: number;
  /**
   * How the context gets into the cache: 'real', a prefill of the whole context (default); 'tiled', a real prefill of
   * the first TILE_SEED_TOKENS tokens whose cached rows are repeated to the context (lib/generate/prefill.ts
   * tiledPrefill): the same rows, shapes and buffers for the step to read, so the same work, in seconds where a real
   * prefill of batch 64 × 32k takes minutes. Timing only: the step's logits are not the prompt's.
   */
  prefill?: PrefillKind;
  /**
   * When the timed steps wait for the device (lib/generate/decode-loop.ts): 'end' (default), greedy on the device
   * and one read per chunk of DECODE_SYNC_CHUNK steps, as PyTorch eager's loop runs, so a step costs the larger of
   * host and GPU time; 'step', the logits read back every step, so a step costs host + GPU + a round trip.
   */
  sync?: DecodeSync;
  /** Bytes of the tensor the copy bandwidth is measured on. */
  copyBytes?: number;
}

export type PrefillKind = 'real' | 'tiled';
export const PREFILL_KINDS: readonly PrefillKind[] = ['real', 'tiled'];
export const DECODE_BENCH_DEFAULTS = { contexts: [512], batch: 1, steps: 10, warmup: 2, prefill: 'real', sync: 'end', copyBytes: 128 * 2 ** 20 } as const;
export const MAX_DECODE_BATCH = 64;

export interface CopyBandwidth {
  /** Bytes of the tensor copied (its read and its write both count in the bandwidth). */
  bytes: number;
  msPerCopy: Spread;
  /**
   * The bandwidth the floors divide by, in GB/s (1e9), (read + written bytes) / time: the larger of hostGbPerS and
   * kernelTimed's, since the floor is a bound and every overhead only slows a copy down.
   */
  gbPerS: number;
  /**
   * (read + written bytes) / the fastest copy timed on the host, until one element is back: load on the machine,
   * a fresh allocation's page faults (cpu) and, on a GPU, the dispatch and the readback's latency are inside it.
   * On the H200 (2026-12-04) this read 289–481 GB/s for 128 MiB, while a decode step read its cache at 443 GB/s
   * and the HBM does ~4.8 TB/s: what a floor over it claims is up to ~10× too generous.
   */
  hostGbPerS: number;
  /** hostGbPerS from the median copy. */
  gbPerSMedian: number;
  /**
   * The same copy repeated `copies` times inside tf.time, by the backend's own kernel time (WebGPU: timestamp
   * queries: exact with MLA_WEBGPU_TIMESTAMPS=precise, and Dawn's 65.5 µs ticks average out over the copies otherwise; cpu: the kernels' wall time); null where
   * the backend gives none (tf.time's kernelMs is an error) or the copy is not in place.
   */
  kernelTimed: { copies: number; kernelMs: number; gbPerS: number } | null;
  /** How the copy was made: into a preallocated buffer (cpu) or by tf.concat into a new tensor. */
  method: 'in-place write' | 'tf.concat';
}

/** In-place copies timed together by their kernel time (CopyBandwidth.kernelTimed). */
export const KERNEL_TIMED_COPIES = 32;

export interface DecodeBenchRow {
  cache: CacheMode;
  context: number;
  batch: number;
  /** Milliseconds per step: one new token for each of the B sequences. */
  msPerStep: Spread;
  /** msPerStep's median / B: the time each generated token costs. */
  msPerToken: number;
  /** Kernels one step runs (every engine kernel call, counted through tf.profile in an untimed step). */
  kernelsPerStep: number;
  /**
   * Kernels per step that launch work on a GPU backend: all but Reshape, Identity and ExpandDims, which are views,
   * and the scopes tf.profile lists for tf.customGrad calls (LayerNorm, RoPE), which are no kernels.
   */
  dispatchesPerStep: number;
  /**
   * Compute dispatches one step records on the GPU, counted at tfjs's recordAndSubmit in an untimed step: unlike
   * dispatchesPerStep, a kernel of several shaders (the split-K decode attention's pass and combine) counts each.
   * Null off WebGPU.
   */
  gpuDispatchesPerStep: number | null;
  /**
   * Calls per step of the fused decode kernels (lib/ops): cache writes in place and the fused decode attention
   * (one per layer where it applies). Zeros mean the step ran the tfjs reference (concat appends, unfused core).
   */
  fusedPerStep: { cacheWrite: number; attention: number };
  /** What the decode's step graphs did over all its steps (null: graphs off or not on this backend). */
  graphs: DecodeGraphStats | null;
  /**
   * The counted step's kernels by name, largest time first: ms is GPU time on WebGPU (timestamp queries; 0 where the
   * adapter has none), the kernel's wall time on the CPU. Where a step's time goes when it is not the host's.
   */
  kernelTimes: { kernel: string; ms: number; calls: number }[];
  /** What the step must read at this context and batch (fp32): weights once, every sequence's cache. */
  stepBytes: DecodeStepBytes;
  /** stepBytes.total / the measured copy bandwidth. */
  floorMs: number;
  /** msPerStep's median / floorMs: 1 is the memory-traffic floor. */
  ratioToFloor: number;
  /**
   * The arithmetic the step needs: batch × decodeFlopsPerToken (lib/costs/flops) at this context and mode. Over a
   * peak FLOP rate it is the compute floor beside floorMs (fp32 SIMT on the H200: ~67 TFLOP/s by the datasheet);
   * absorbed MLA's step at batch 16 and 32k reads ~16 FLOPs a byte, near that GPU's fp32 ridge (~14).
   */
  stepFlops: number;
  /** stepFlops / msPerStep's median, in TFLOP/s (1e12): how near the step runs to compute-bound. */
  tflops: number;
  /** Bytes the cache holds at this context, all sequences (fp32). */
  cacheBytes: number;
  prefillMs: number;
  /** How the cache was filled (DecodeBenchSettings.prefill). */
  prefill: PrefillKind;
  /**
   * When the timed steps waited for the device (DecodeBenchSettings.sync). Records written before it existed read
   * their logits back every step: 'step'. Under 'end', msPerStep's n counts chunks, not steps.
   */
  sync: DecodeSync;
}

export interface DecodeBenchError {
  cache: CacheMode;
  context: number;
  batch: number;
  error: string;
}

/** The smallest measured context from which on absorbed is faster than both latent and full, per batch. */
export interface DecodeCrossover {
  batch: number;
  /** null: absorbed is not faster than both at the largest measured context (no crossover in range). */
  context: number | null;
  /** True when absorbed was faster already at the smallest measured context (the crossover is at or below it). */
  atOrBelowRange: boolean;
  /** absorbed / min(latent, full) median step time at each measured context. */
  ratios: { context: number; absorbedOverBest: number }[];
}

export interface DecodeBenchResult {
  copyBandwidth: CopyBandwidth;
  rows: (DecodeBenchRow | DecodeBenchError)[];
  /** Only for MLA with absorbed, latent and full measured (null in a partial result). */
  crossover: DecodeCrossover | null;
  /** False in the partial results handed on after each cell (a run cut short keeps those), true at the end. */
  complete: boolean;
}

/**
 * Bandwidth of a large device copy on the active backend, timed like a step (until one element is back on the
 * host). Where cache buffers are written in place (the cache-write kernel: cpu, webgpu), by that write into a
 * buffer allocated once, as a decode writes: a fresh 128 MiB output would pay its page faults on every copy (cpu)
 * and halve the figure. Elsewhere tf.concat of two halves (GPU backends pool their buffers).
 */
export async function measureCopyBandwidth(bytes: number = DECODE_BENCH_DEFAULTS.copyBytes, repeats = 9): Promise<CopyBandwidth> {
  const W = 1024;
  const rows = Math.max(2, 2 * Math.floor(bytes / (8 * W))); // float32 rows of W, an even number
  const src = tf.fill([1, 1, rows, W], 1);
  const a = tf.slice(src, [0, 0, 0, 0], [1, 1, rows / 2, W]);
  const b = tf.slice(src, [0, 0, rows / 2, 0], [1, 1, rows / 2, W]);
  const inPlace = hasCacheWriteKernel();
  let dst = tf.zeros([1, 1, rows, W]);
  /** src written over dst's storage: the result holds it, the old handle goes. */
  const write = () => {
    const next = cacheWrite(dst, src, 0);
    dst.dispose();
    dst = next;
  };
  if (inPlace) write(); // also touches every page of dst once
  const ms: number[] = [];
  let kernelMs: number | null = null;
  try {
    if (inPlace) {
      const t = await tf.time(() => {
        for (let k = 0; k < KERNEL_TIMED_COPIES; k++) write();
      });
      kernelMs = typeof t.kernelMs === 'number' && t.kernelMs > 0 ? t.kernelMs : null;
    }
    for (let i = 0; i < repeats + 2; i++) {
      const t0 = performance.now();
      if (inPlace) write(); // reads and writes rows·W·4 bytes
      const y = inPlace ? dst : tf.concat([a, b], 2);
      const probe = tf.slice(y, [0, 0, rows - 1, W - 1], [1, 1, 1, 1]);
      await probe.data(); // one element back: the copy has finished
      const dt = performance.now() - t0;
      tf.dispose(y === dst ? [probe] : [y, probe]);
      if (i >= 2) ms.push(dt);
    }
  } finally {
    tf.dispose([src, a, b, dst]);
  }
  const s = spread(ms);
  const copied = rows * W * 4;
  const hostGbPerS = (2 * copied) / (s.min * 1e6);
  const kernelTimed = kernelMs === null ? null : { copies: KERNEL_TIMED_COPIES, kernelMs, gbPerS: (2 * copied * KERNEL_TIMED_COPIES) / (kernelMs * 1e6) };
  return {
    bytes: copied, method: inPlace ? 'in-place write' : 'tf.concat', msPerCopy: s,
    gbPerS: Math.max(hostGbPerS, kernelTimed?.gbPerS ?? 0), hostGbPerS, gbPerSMedian: (2 * copied) / (s.median * 1e6), kernelTimed,
  };
}

/** Kernels that return a view of their input (tfjs's cpu and webgpu backends raise a refCount, launch nothing). */
const VIEW_KERNELS = new Set(['Reshape', 'Identity', 'ExpandDims']);

/**
 * Whether a profiled name launches work: a registered kernel that is no view. tf.profile also lists each
 * tf.customGrad call under its scope's name ('unnamed scope'), whose kernels it lists on their own.
 */
const dispatches = (name: string) => !VIEW_KERNELS.has(name) && tf.getKernel(name, tf.getBackend()) !== undefined;
/** The fused decode kernels of lib/ops, by what they replace: a step that runs none of them ran the tfjs reference. */
export const DECODE_KERNELS = { cacheWrite: [CACHE_WRITE_KERNEL, CACHE_WRITE_FROM_KERNEL], attention: [decodeAttentionKernelName(1), decodeAttentionKernelName(2)] } as const;

/** Calls of each fused decode kernel among a step's kernels. */
export function decodeKernelCounts(kernels: readonly string[]): { cacheWrite: number; attention: number } {
  const count = (names: readonly string[]) => kernels.filter((k) => names.includes(k)).length;
  return { cacheWrite: count(DECODE_KERNELS.cacheWrite), attention: count(DECODE_KERNELS.attention) };
}

/** A prefill of `context` tokens for each of B sequences: distinct, deterministic tokens. */
function promptIds(B: number, context: number, vocab: number): tf.Tensor2D {
  const ids = Array.from({ length: B }, (_, b) => Array.from({ length: context }, (_, i) => (i * 7919 + b * 104729) % vocab));
  return tf.tensor2d(ids, [B, context], 'int32');
}

/**
 * One (mode, context) point: prefill, `warmup` untimed steps, one counted step, `steps` timed steps, every step
 * greedy from the last token, waiting for the device as `sync` says (lib/generate/decode-loop.ts).
 */
export async function decodeStepCost(model: GPT, cache: CacheMode, context: number, batch: number, steps: number, warmup: number, fill: PrefillKind = 'real', sync: DecodeSync = DECODE_BENCH_DEFAULTS.sync) {
  const total = context + warmup + 1 + steps;
  if (total > model.config.maxSeqLen) {
    throw new RangeError(`context ${context} + ${warmup + 1 + steps} steps exceeds maxSeqLen ${model.config.maxSeqLen}; raise it with --set maxSeqLen=${total} (RoPE models)`);
  }
  // Reserved for every token the point decodes: no step copies the cache to grow it (a 16 GiB copy at batch 16 × 32k MHA).
  const at = { state: model.startDecode(batch, cache, { reserve: total }) };
  let token: tf.Tensor2D | null = null;
  try {
    const prompt = promptIds(batch, context, model.config.vocabSize);
    const p0 = performance.now();
    // In pieces: batch 64 × 32k tokens in one call would hold 84 GB of logits. Tiled: the first tokens, repeated.
    const pre = fill === 'tiled' ? tiledPrefill(model, prompt, at.state) : prefill(model, prompt, at.state);
    prompt.dispose();
    at.state = pre.state;
    token = greedyNext(pre.logits);
    pre.logits.dispose();
    await token.data();
    const prefillMs = performance.now() - p0;
    /** `n` steps from the current token, which they replace. */
    const run = async (n: number) => {
      const r = await timedDecodeSteps(model, token!, at, n, sync);
      token!.dispose();
      token = r.token;
      return r.msPerStep;
    };
    await run(warmup);
    const d0 = gpuDispatchCount();
    const profile = await tf.profile(() => run(1));
    const d1 = gpuDispatchCount();
    const kernels = profile.kernels.map((k) => k.name);
    const ms = await run(steps);
    const graphs = at.state.graphs ? structuredClone(at.state.graphs.stats) : null;
    return {
      graphs,
      msPerStep: spread(ms), prefillMs, kernelsPerStep: kernels.length, dispatchesPerStep: kernels.filter(dispatches).length,
      gpuDispatchesPerStep: d0 === null || d1 === null ? null : d1 - d0, kernelTimes: kernelTimes(profile.kernels), fusedPerStep: decodeKernelCounts(kernels),
    };
  } finally {
    token?.dispose();
    model.endDecode(at.state);
  }
}

/** Where absorbed becomes faster than both latent and full, from the rows of one batch. */
export function decodeCrossover(rows: readonly (DecodeBenchRow | DecodeBenchError)[], batch: number): DecodeCrossover | null {
  const ok = rows.filter((r): r is DecodeBenchRow => !('error' in r) && r.batch === batch);
  const at = (mode: CacheMode, context: number) => ok.find((r) => r.cache === mode && r.context === context)?.msPerStep.median;
  const contexts = [...new Set(ok.map((r) => r.context))].sort((a, b) => a - b);
  const ratios: DecodeCrossover['ratios'] = [];
  for (const context of contexts) {
    const [abs, lat, full] = [at('absorbed', context), at('latent', context), at('full', context)];
    if (abs === undefined || lat === undefined || full === undefined) continue;
    ratios.push({ context, absorbedOverBest: abs / Math.min(lat, full) });
  }
  if (ratios.length === 0) return null;
  let first = ratios.length; // from this index on absorbed is faster than both
  while (first > 0 && ratios[first - 1].absorbedOverBest < 1) first--;
  return { batch, context: first < ratios.length ? ratios[first].context : null, atOrBelowRange: first === 0, ratios };
}

/**
 * Refuses, as a RangeError the bench records for that point, a (mode, context, batch) whose largest tensor would not
 * bind on this backend: on WebGPU the step would fail only as a device error, its results silently zero.
 */
export function checkBindingLimit(config: ModelConfig, cache: CacheMode, tokens: number, batch: number, limit: number | null): void {
  if (limit === null) return;
  const need = largestDecodeTensorBytes(config, tokens, cache, batch);
  if (need > limit) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(2);
    throw new RangeError(`cache '${cache}' at batch ${batch} × ${tokens} tokens needs one buffer of ${gib(need)} GiB, above this device's storage-buffer binding limit of ${gib(limit)} GiB: lower the batch or the context`);
  }
}

/**
 * Every (mode, context) at one batch on the active backend, each mode through the same model, in order. `onRow` gets each cell as it finishes with the results
 * so far (complete: false), so a caller can write them down before the next cell: a run stopped by a time limit
 * then keeps every cell it measured.
 */
export async function runDecodeBench(config: ModelConfig, s: DecodeBenchSettings, onRow?: (r: DecodeBenchRow | DecodeBenchError, soFar: DecodeBenchResult) => void): Promise<DecodeBenchResult> {
  if (!Number.isInteger(s.batch) || s.batch < 1 || s.batch > MAX_DECODE_BATCH) throw new RangeError(`decode bench: batch ${s.batch} must be 1..${MAX_DECODE_BATCH}`);
  if (s.prefill !== undefined && !PREFILL_KINDS.includes(s.prefill)) throw new RangeError(`decode bench: prefill '${s.prefill}' must be one of ${PREFILL_KINDS.join(', ')}`);
  if (s.sync !== undefined && !DECODE_SYNCS.includes(s.sync)) throw new RangeError(`decode bench: sync '${s.sync}' must be one of ${DECODE_SYNCS.join(', ')}`);
  const sync = s.sync ?? DECODE_BENCH_DEFAULTS.sync;
  const supported: CacheMode[] = ['none', ...cacheModesFor(config)];
  for (const m of s.modes) if (!supported.includes(m)) throw new RangeError(`decode bench: cache '${m}' does not apply to attention '${config.attention}'; allowed: ${supported.join(', ')}`);
  const fill = s.prefill ?? DECODE_BENCH_DEFAULTS.prefill;
  const copyBandwidth = await measureCopyBandwidth(s.copyBytes);
  const model = createModel(config, 0);
  const rows: (DecodeBenchRow | DecodeBenchError)[] = [];
  try {
    for (const cache of s.modes) {
      for (const context of s.contexts) {
        let row: DecodeBenchRow | DecodeBenchError;
        try {
          checkBindingLimit(config, cache, context + s.warmup + s.steps, s.batch, storageBindingLimit()); // the cache before the last step's write
          releasePooledMemory(); // the last point's pooled buffers (its caches' sizes are not asked for again)
          // A device error (out of memory, a binding too large) drops command buffers, whose steps then read as
          // fast zeros: the cell is an error, not a time.
          const scope = gpuErrorScope();
          const p = await decodeStepCost(model, cache, context, s.batch, s.steps, s.warmup, fill, sync);
          const gpuError = await scope.end();
          if (gpuError) throw new RangeError(`the GPU device reported an error during the steps, so their times are not trustworthy: ${gpuError}`);
          const stepBytes = decodeStepBytes(config, context, cache, { batch: s.batch });
          const floorMs = stepBytes.total / (copyBandwidth.gbPerS * 1e6);
          const stepFlops = s.batch * decodeFlopsPerToken(config, context, cache);
          row = {
            cache, context, batch: s.batch, msPerStep: p.msPerStep, msPerToken: p.msPerStep.median / s.batch,
            kernelsPerStep: p.kernelsPerStep, dispatchesPerStep: p.dispatchesPerStep,
            gpuDispatchesPerStep: p.gpuDispatchesPerStep, kernelTimes: p.kernelTimes, fusedPerStep: p.fusedPerStep, graphs: p.graphs, stepBytes, floorMs,
            ratioToFloor: p.msPerStep.median / floorMs, stepFlops, tflops: stepFlops / (p.msPerStep.median * 1e9),
            cacheBytes: cache === 'none' ? 0 : kvCacheBytesForContext(config, context, { mode: cache, batch: s.batch }),
            prefillMs: p.prefillMs, prefill: fill, sync,
          };
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          row = { cache, context, batch: s.batch, error: err.message };
        }
        rows.push(row);
        onRow?.(row, { copyBandwidth, rows: [...rows], crossover: null, complete: false });
      }
    }
  } finally {
    model.dispose();
  }
  return { copyBandwidth, rows, crossover: config.attention === 'mla' ? decodeCrossover(rows, s.batch) : null, complete: true };
}
