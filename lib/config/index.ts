export * from './model-config';
export * from './validate';
export * from './presets';
