export * from './sampling';
export * from './generate';
export * from './errors';
