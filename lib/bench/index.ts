// Benchmarks and their records. Each benchmark is a function returning rows; record.ts wraps rows with
// where and how they were measured and writes them under data/bench/.
export * from './record';
export * from './matmul';
export * from './profile';
export * from './standin-model';
export * from './model-benches';
