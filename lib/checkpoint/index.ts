export * from './errors';
export * from './atomic';
export * from './safetensors';
export * from './checkpoint';
export * from './faults';
