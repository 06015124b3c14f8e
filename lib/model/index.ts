export * from './types';
export * from './layers';
export * from './init';
export * from './gpt';
export * from './load';
export * from './fast-grads';
