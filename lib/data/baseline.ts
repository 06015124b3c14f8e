// The floor any language model must beat: a unigram model with add-one smoothing, fitted on the training ids.

/** exp(mean cross-entropy, natural log) of `evalTokens` under p(id) = (count_train(id) + 1) / (N + vocabSize). */
export function unigramPerplexity(trainTokens: ArrayLike<number>, evalTokens: ArrayLike<number>, vocabSize: number): number {
  if (evalTokens.length === 0) throw new RangeError('unigramPerplexity needs at least one evaluation token');
  const counts = new Float64Array(vocabSize);
  for (let i = 0; i < trainTokens.length; i++) {
    const id = trainTokens[i];
    if (!(id >= 0 && id < vocabSize)) throw new RangeError(`training token id ${id} at position ${i} is outside 0…${vocabSize - 1}`);
    counts[id]++;
  }
  const denom = trainTokens.length + vocabSize;
  const logP = new Float64Array(vocabSize);
  for (let v = 0; v < vocabSize; v++) logP[v] = Math.log((counts[v] + 1) / denom);
  let nll = 0;
  for (let i = 0; i < evalTokens.length; i++) {
    const id = evalTokens[i];
    if (!(id >= 0 && id < vocabSize)) throw new RangeError(`token id ${id} at position ${i} is outside 0…${vocabSize - 1}`);
    nll -= logP[id];
  }
  return Math.exp(nll / evalTokens.length);
}
