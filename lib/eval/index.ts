export * from './perplexity';
