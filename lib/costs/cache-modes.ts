// Which KV-cache layouts each attention kind supports. A cache mode is always an argument, never a global.
import type { ModelConfig } from '../config/model-config';

/**
 * - `kv`: the MHA family's per-KV-head K and V; for MHA with decoupled RoPE, the per-head no-RoPE keys, the one
 *   shared RoPE key and the per-head values (nothing repeated).
 * - `full`: per-head K and V fully expanded (MLA as DeepSeek-V2's released code did; MHA with decoupled RoPE as
 *   the study counted it, the shared RoPE key copied into every head).
 * - `latent`: MLA's normalised KV latent plus the shared RoPE key; per-head K and V re-expanded every step.
 * - `absorbed`: the same latent cache; W_UK is folded into the query and W_UV into the output, so nothing is
 *   re-expanded (DeepSeek-V2's weight absorption).
 * - `none`: no cache; every step recomputes the whole prefix.
 */
export type CacheMode = 'none' | 'kv' | 'full' | 'latent' | 'absorbed';
export const CACHE_MODES: readonly CacheMode[] = ['none', 'kv', 'full', 'latent', 'absorbed'];

/** The cache modes a model supports, the most compact one first (`none` is always allowed and not listed). */
export function cacheModesFor(c: ModelConfig): CacheMode[] {
  switch (c.attention) {
    case 'mla':
      return ['latent', 'absorbed', 'full'];
    case 'mha-decoupled-rope':
      return ['kv', 'full'];
    default:
      return ['kv'];
  }
}

/** The mode a decode uses when none is named: the compact cache. */
export function defaultCacheMode(c: ModelConfig): CacheMode {
  return cacheModesFor(c)[0];
}

export function checkCacheMode(c: ModelConfig, mode: CacheMode): CacheMode {
  if (mode !== 'none' && !cacheModesFor(c).includes(mode)) {
    const err = new Error(
      `cache mode '${mode}' does not apply to attention '${c.attention}'; allowed: ${['none', ...cacheModesFor(c)].join(', ')}`,
    );
    err.name = 'ConfigError';
    throw err;
  }
  return mode;
}
