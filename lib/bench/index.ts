// Benchmarks and their records. Each benchmark is a function returning rows; record.ts wraps rows with
// where and how they were measured (provenance, backend and its settings) and writes them.
export { type BenchRecord, type MachineInfo, type RepeatOptions, startRecord, timeInterleaved, writeRecord } from './record';
export { BATCHED_COUNT, MATMUL_DEFAULTS, type MatmulBenchOptions, type MatmulRow, runMatmulBench } from './matmul';
export {
  PROFILE_DEFAULTS, type KernelShare, type MatMulShare, type ProfileOptions, type ProfileResult, type StepBatch, type StepProfile,
  profileStep, runStepProfile,
} from './profile';
export {
  MIN_TIMED_STEPS, TRAIN_BENCH_DEFAULTS, type TrainBenchResult, type TrainBenchSettings, type TrainBenchStep, errorLine, readTokenFile,
  runTrainBench,
} from './train';
export {
  DECODE_BENCH_DEFAULTS, MAX_DECODE_BATCH, type CopyBandwidth, type DecodeBenchError, type DecodeBenchResult, type DecodeBenchRow,
  type DecodeBenchSettings, type DecodeCrossover, DECODE_KERNELS, decodeCrossover, decodeKernelCounts, decodeStepCost, measureCopyBandwidth,
  PREFILL_KINDS, type PrefillKind, runDecodeBench,
} from './model-benches';
export { type CoverageCase, type CoverageCheck, type CoverageReport, type StaticCoverage, COVERAGE_PRESETS, COVERAGE_TOLERANCES, runCoverage, staticCoverage } from './coverage';
export { type GpuErrorScope, gpuErrorScope } from '../backend';
export { type CpuProfile, type CpuProfileSummary, type CpuShare, startCpuProfile, summarizeCpuProfile } from './cpu-profile';
export { BenchError } from './errors';
export { RandomTokens } from './random-tokens';
export {
  FLASH_REL_TOL, FLASH_SHAPES, type DispatchBench, type FlashCheck, type FlashRow, type FlashShape, runDispatchBench, runFlashCheck,
} from './kernel-checks';
export {
  CACHE_WRITE_SHAPES, DECODE_ATTENTION_SHAPES, DECODE_REL_TOL, type CacheWriteRow, type CacheWriteShape, type DecodeAttentionRow,
  type DecodeAttentionShape, type DecodeCheck, runDecodeCheck,
} from './decode-check';
export { type MatmulCheck, type MatmulCheckRow, type MatmulSpeedRow, loopMatMul, MATMUL_VARIANTS, runMatmulCheck, unknownMatmulVariants } from './matmul-check';
export { summarizeDeviceRuns } from './device-summary';
export { type DecodeGridCell, type DecodeGridSummary, summarizeDecodeGrid } from './decode-grid-summary';
export { type DecodeAbCell, type DecodeAbSummary, type DecodeAbVariant, summarizeDecodeAb } from './decode-ab-summary';
export { type TrainAbPreset, type TrainAbSummary, type TrainAbVariant, summarizeTrainAb } from './train-ab-summary';
export { GRAPH_CHECK_CASES, type GraphCheckCase, type GraphCheckResult, type GraphCheckRow, compareLogits, runGraphCheck } from './graph-check';
