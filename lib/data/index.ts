// The data pipeline: corpora, byte-level BPE tokenizer, token caches, batching and the unigram baseline.
export * from './errors';
export * from './prng';
export * from './spec';
export * from './split';
export * from './documents';
export * from './brown';
export * from './nlp-corpus';
export * from './embedded';
export * from './wikitext';
export * from './corpus';
export * from './byte-level';
export * from './bpe';
export * from './bpe-train';
export * from './token-cache';
export * from './sampler';
export * from './baseline';
export * from './prepare';
