// A decode whose latent cache is stored quantized (lib/quant). The format is part of each layer's cache value
// (LayerCache.quant), set once on the empty caches; the MLA layer quantizes every write and dequantizes the
// whole latent when it attends, so everything after the cache is the fp32 path.
import { CacheMode } from '../costs/cache-modes';
import { CacheQuant, checkCacheQuantFor } from '../costs/kv-cache';
import type { DecodeState, GPT } from '../model/gpt';

/** model.startDecode, with the latent caches stored in `quant`'s format (format 'none': the plain decode). */
export function startQuantizedDecode(model: GPT, batch: number, mode: CacheMode, quant: CacheQuant): DecodeState {
  checkCacheQuantFor(model.config, mode, quant);
  const state = model.startDecode(batch, mode);
  if (quant.format === 'none') return state;
  return { ...state, caches: state.caches.map((c) => ({ ...c, quant: { ...quant } })) };
}
