// Uniformly random tokens as a trainer data source: throughput does not depend on what the tokens are.
import { Rng } from '../data/prng';
import type { BatchSource } from '../train/types';

export class RandomTokens implements BatchSource {
  private rng: Rng;
  constructor(
    private readonly vocab: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }
  next(batch: number, seqLen: number) {
    const ids = new Int32Array(batch * seqLen);
    const targets = new Int32Array(batch * seqLen);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = this.rng.int(this.vocab);
      targets[i] = this.rng.int(this.vocab);
    }
    return { ids, targets };
  }
  getState() {
    return this.rng.state;
  }
  setState(s: unknown) {
    this.rng = new Rng(s as number);
  }
}
