export * from './types';
export * from './core';
export * from './rope';
export * from './reference';
export * from './factory';
export * from './flash';
