export * from './cache-modes';
export * from './kv-cache';
export * from './params';
export * from './flops';
export * from './lr-schedule';
export * from './decode-bytes';
