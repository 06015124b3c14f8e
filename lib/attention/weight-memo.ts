// Tensors derived from a layer's weights that a decode would otherwise rebuild every step — absorbed MLA's W_UK
// and W_UV in per-head layout, each a slice, a reshape, a transpose and an expand of W_ukv (four kernels, three
// dispatches on WebGPU, per matrix, layer and step) — made once per decode and kept with the layer's cache
// (LayerCache.memo: every value of one decode's cache shares it; GPT.endDecode disposes it). An entry is keyed by
// the contents of the weights it was made from: their storage (Variable.assign gives a new one) and that
// storage's count of in-place writes (lib/ops/data-version.ts, which the in-place AdamW bumps), so a weight
// changed between two steps is never served stale: the entry is made again from the new values.
import * as tf from '@tensorflow/tfjs-core';
import { type ContentsKey, contentsKey, sameContents } from '../ops/data-version';

interface Entry {
  sources: ContentsKey[];
  value: tf.Tensor;
}

export class WeightMemo {
  private readonly entries = new Map<string, Entry>();
  /** Entries made (first made or made again after a source changed): what a test counts. */
  made = 0;

  /**
   * The tensor `name`, made by `make` from `sources` once and again only when one of them changed. The value is
   * kept out of every tf.tidy; the memo owns it (callers must not dispose it).
   */
  get<T extends tf.Tensor>(name: string, sources: tf.Tensor[], make: () => T): T {
    const hit = this.entries.get(name);
    if (hit && !hit.value.isDisposed && hit.sources.length === sources.length && sources.every((s, i) => sameContents(s, hit.sources[i]))) {
      return hit.value as T;
    }
    hit?.value.dispose();
    const value = tf.keep(tf.tidy(make));
    this.entries.set(name, { sources: sources.map(contentsKey), value });
    this.made += 1;
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The tensors held, e.g. to check they are freed. */
  tensors(): tf.Tensor[] {
    return [...this.entries.values()].map((e) => e.value);
  }

  dispose(): void {
    for (const e of this.entries.values()) e.value.dispose();
    this.entries.clear();
  }
}
