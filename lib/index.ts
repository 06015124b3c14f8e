// The public API of MLA Lab: what notebooks, scripts and the README import as 'mla-lab', by name. Internals stay
// in their modules (WGSL builders, kernel registration and the matmul policy's switches, Chromium helpers, fault
// hooks, atomic-write primitives); a script that measures one of them requires its module under dist/lib.
export {
  isDecoupled, deriveSizes, type AttentionKind, ATTENTION_KINDS, type PositionKind, POSITION_KINDS, type LatentNorm,
  LATENT_NORMS, type ModelConfig, type DerivedSizes, DEFAULT_CONFIG, OPTIONAL_CONFIG_KEYS, validateConfig,
  ConfigError, getPreset, parseOverrides, resolveConfig, type StudyResult, type Preset, PRESETS, PRESET_NAMES
} from './config';
export {
  cacheModesFor, defaultCacheMode, checkCacheMode, type CacheMode, CACHE_MODES, kvElementsPerTokenPerLayer,
  kvCacheElements, kvCacheBytes, kvCacheBytesForContext, checkCacheQuant, checkCacheQuantFor, quantGroups,
  quantizedKvCacheBytes, type Dtype, BYTES_PER_ELEMENT, type KvCacheElements, type KvCacheBytes,
  type CacheQuantFormat, CACHE_QUANT_FORMATS, type CacheQuant, DEFAULT_QUANT_GROUP_SIZE, QUANT_CODE_BITS,
  QUANT_SCALE_BYTES, type QuantizedKvBytes, decodeStepBytes, type DecodeStepBytes, type DecodeStepBytesOptions, generationBytes, type GenerationBytes, attentionShapes, parameterShapes, paramCount, nonEmbeddingParams,
  type ParamCount, totalElements, forwardFlopsPerToken, trainingFlopsPerToken, decodeFlopsPerToken, mlaAttentionFlops, absorbedCallExpands, lrAt,
  cosineSchedule, originalSchedule, peakFractionReached, type LrSchedule, DEFAULT_WARMUP_FRACTION,
  DEFAULT_MIN_LR_RATIO, ORIGINAL_LR_REACHED, ORIGINAL_WARMUP_FRACTION
} from './costs';
export {
  cacheElements, cacheStorageBytes, type WeightLookup, type LayerCache, type AttentionLayer, causalMask,
  sharedCausalMask, headMatMul, causalAttention, unfusedCausalAttention, type ScoreTerm, type CoreOptions,
  ropeFrequencies, ropeTables, applyRope, type RopeTables, referenceAttention, type Heads, createAttention,
  flashAttention, flashApplies, flashCausalAttention
} from './attention';
export {
  type Params, type ForwardOptions, type LanguageModel, linear, layerNorm, sliceLast, splitHeads, mergeHeads,
  tidyKeep, tensorSeed, initRule, initParams, paramsFromTensors, type InitRule, tokenCrossEntropy, createModel,
  type DecodeState, GPT, loadModel, embeddingLookup, crossEntropyRows, crossEntropyOps, EXACT_FLAT_INDEX
} from './model';
export {
  argmax, sampleToken, type SamplingOptions, generate, type GenerateOptions, type GenerateResult, GenerateError
} from './generate';
export {
  DataError, deriveSeed, permutation, Rng, parseDataSpec, formatDataSpec, toDataSpec, type DatasetName,
  type DataSpec, DEFAULT_DATA_SPEC, docHashUnit, splitOf, type SplitName, SPLITS, SPLIT_FRACTIONS,
  DEFAULT_SPLIT_SEED, normalizeDocument, countChars, joinDocuments, splitDocuments, readDocuments,
  DOCUMENT_SEPARATOR, DocumentWriter, stripBrownTag, detokenize, brownToText, brownDir, readBrownDocuments,
  type SourceDocument, nlpCorpusDir, readNlpCorpusDocuments, SENTENCES_PER_DOCUMENT, embeddedSource,
  embeddedDocuments, EMBEDDED_BUILDER, whereToGet, locateWikiText, isArticleHeading, readWikiTextArticles,
  wikiTextSource, type WikiTextName, type WikiTextLayout, type WikiTextFiles, corpusDir, inspectCorpus, buildCorpus,
  ensureCorpus, WIKITEXT_BUILDER, type SplitFileStats, type CorpusManifest, type Corpus, type CorpusStatus,
  pretokenize, tokenStringToBytes, bytesToTokenString, PRETOKENIZE, BYTE_TO_CHAR, CHAR_TO_BYTE, tablesFromMerges,
  toTokenizerJson, mergesOfTokenizerJson, saveTokenizer, loadTokenizer, EOT_TOKEN, type TextTokenizer,
  type BpeTables, BpeTokenizer, trainBaseTokenizer, readBaseMerges, BASE_TRAINING_VOCAB, dtypeFor, encodeSplitFile,
  tokenCachePrefix, buildTokenCache, readTokenCacheManifest, loadTokenCache, type TokenArray, type TokenDtype,
  type TokenSplitStats, type TokenCacheManifest, chunkCount, sequentialBatches, type SamplerOptions,
  type SamplerState, type Batch, BatchSampler, type EvalBatch, unigramPerplexity, defaultDataRoot, tokenizerPaths,
  ensureTokenizer, prepareDataset, describeDataset, DEFAULT_DATA_ROOT, DEFAULT_VOCAB_SIZE, type PrepareOptions,
  type PreparedDataset, type DatasetDescription, packDataset, loadPackedDataset, type TrainingDataset, PACKED_FILE
} from './data';
export {
  plot, figureFiles, FIGURE_FORMATS, type PlotOptions, type PlotFiles, type FigureFormat, type Figure, showTable,
  tableFile, shownColumns, KEY_COLUMNS, type ShowTableOptions, liveTraining, type LiveTraining,
  type LiveTrainingOptions, type LiveStep, type LiveEval, lineChartSvg, type Series, type ChartOptions,
  defaultDisplay, consoleDisplay, recordingDisplay, insideTslab, type NotebookDisplay, type DisplayArea,
  type RecordingDisplay, projectRoot, outputRoot, isSmokeScale, figuresDir, resultsDir, scale, scalePresets, SCALES,
  SCALE_NAMES, DEFAULT_SCALE, isScaleName, type Scale, type ScaleName, type ScaleTraining, type ExperimentScale,
  type TimingScale, DEEPSEEK_MLA, deepseekCacheConfigs, type PublishedMla, kvCacheRows, KV_CONTEXTS, type KvCacheRow,
  kvCacheQuantRows, type KvCacheQuantRow, type KvCacheStorage,
  runTrainingExperiment, needsGpu, scaleExperiment, studyCounterpart, lossCurveFigure, decodeTimeFigure, timingFigure, machineRows, type MachineDecodeCostRow, type MachineTimingRow,
  type TrainingExperimentOptions, type ScaleExperimentResults
} from './notebook';
export {
  fsErrorFix, writeError, CheckpointError, dtypeOf, encodeSafetensors, writeSafetensors, readSafetensorsHeader,
  readSafetensors, decodeSafetensors, type SafetensorsDtype, type TensorData, type RawTensor,
  type SafetensorsContent, SUPPORTED_DTYPES, MAX_HEADER_BYTES, type SafetensorsHeader, rawOf, saveCheckpoint,
  configDifferences, configFromMetadata, readCheckpointConfig, checkShapes, checkFinite, loadCheckpoint, CHECKPOINT_FORMAT,
  type LoadedCheckpoint, type LoadOptions
} from './checkpoint';
export {
  type BatchSource, type TrainData, type ScheduleKind, type ProgressMode, type TrainOptions, type StepMetrics,
  type ValMetrics, type MetricsLine, type TrainHooks, type TrainResult, TrainingError, DivergenceError, resolveTrainOptions,
  tokensPerStep, totalSteps, scheduleFor, DEFAULT_TRAIN_OPTIONS, TRAJECTORY_OPTIONS, adamwFused, type AdamWConfig,
  type AdamWState, type AdamWImpl, AdamW, accumulate, globalNorm, clipFactor, ensureWritableDir, freeBytes,
  checkFreeSpace, diskNeeded, readJsonFile, writeJsonFile, readMetrics, truncateMetrics, CONFIG_FILE, METRICS_FILE,
  CHECKPOINT_DIR, MetricsLog, findLatestCheckpoint, pointLatestAt, saveTrainingCheckpoint, loadTrainingCheckpoint,
  LATEST_FILE, MODEL_FILE, OPTIMIZER_FILE, STATE_FILE, type TrainingState, type CheckpointRef, stepDirName,
  type SaveInput, type LoadedTrainingCheckpoint, formatDuration, createProgress, type Progress, type ProgressStream,
  train, type RunConfig, describeTrainData, trainDataFromDataset, SamplerSource, type DatasetTrainOptions,
  checkRunUnlocked, acquireRunLock, LOCK_FILE, type LockOwner, type RunLock, installStopSignals, STOP_SIGNALS,
  type StopSignals, signalExitCode, DIVERGENCE_MARGIN_NATS, DIVERGENCE_MEDIAN_RATIO, type LossVerdict,
  DivergenceGuard, dataIdentityDifferences, checkDataIdentity, withTokenizerHash, DATA_IDENTITY
} from './train';
export {
  perplexity, type PerplexityOptions, type PerplexityResult
} from './eval';
export {
  spread, type Spread, timeGeneration, decodeCostAt, type GenerationTiming, type GenerationTimingOptions,
  type DecodeCostPoint, canonical, runDirFor, datasetFor, ensureRun, setAsideUnresumable, runMetrics, type RunSpec,
  type RunResult, RESULT_FILE, type DivergedRun, DIVERGED_FILE, supersededDivergence, RUN_FORMAT, type EnsureRunOptions, resultRows, rateComparisonRows, type RateComparisonRow, lossCurves, type ResultRow,
  type BandCurve, studyTimingSeries, runTimingStudy, runDecodeCostStudy, type TimingSeries, type TimingRow,
  type TimingStudyOptions, type DecodeCostRow, checkExperimentName, learningRateFor, experimentSpecs,
  chooseLearningRates, scaleRunsDir, runExperiment, runSpecs, epochsOf, runStatuses, withSweptLearningRates,
  finishedResultsFor, type TrainingExperimentName, type ExperimentName, TRAINING_EXPERIMENTS, EXPERIMENT_NAMES,
  MAX_EPOCHS, type SpecOptions, type ExperimentRunOptions, type ExperimentRunReport, type RunState, type RunStatus,
  decodeCostSeries, inferenceDir, ensureTimingStudy, ensureDecodeCostStudy, findInferenceResults,
  type InferenceStudy, type InferenceResult, INFERENCE_FORMAT, type InferenceRunOptions
} from './experiments';
export { DESIGN_STUDIES, type DesignStudyName } from './experiments/runner';
export { DESIGN_STUDY_FORMAT, StudyError, latentQuantSpec, convertSpec, designStudySpec, studySources, designStudyDir, retrainCommand, designStudyStatus, runDesignStudy, findDesignStudy, type LatentQuantSpec, type ConvertSpec, type FineTuneBudget, type DesignStudySpec, type LatentQuantRow, type ConversionStudyRow, type FineTuneRow, type StudySource, type LatentQuantResult, type ConvertStudyResult, type DesignStudyResults, type SourceStatus, type DesignStudyStatus, type DesignStudyWhere, type DesignStudyOptions, type DesignStudyReport } from './experiments/design-studies';
export { scaleStudy, type ScaleStudyResults } from './notebook/experiment';
export {
  BackendError, type BackendDescription, type BackendInit, addonBlas, describeBackend, disposeBackend, exitProcess,
  initBackend, type CpuOptions, dropout
} from './backend';
export { SweepError, readSweepFile, planSweep, sweepStatus, runSweepHere, runSweepInChildren, submitSweep, startSweepWorker, sweepReport, writeSweepReport, gpuPinning, type SweepPlan, type PlannedRun, type RunStatus as SweepRunStatus } from './sweep';
export { convertMhaToMla, convertedConfig, type ConvertOptions, type ConvertReport, type ConvertResult, type LayerReport as ConvertLayerReport } from './convert/mha-to-mla';
export { convertCheckpoint, convertModel, reportSummary as convertReportSummary } from './convert/convert-model';
export { lowRank, sharedComplexDirection } from './convert/factorize';
export { conversionSweep, fineTuneConverted, runModelFile, loadRunModel, type ConversionRow, type FineTuneOptions, type EvalWindows } from './convert/study';
export { quantize, dequantize, roundE4m3, quantErrorBound, intQmax, E4M3_MAX, type Quantized } from './quant/latent-quant';
export { startQuantizedDecode } from './generate/cache-quant';
export { decodePerplexity, type DecodePerplexityOptions } from './generate/decode-perplexity';
export { prefill, PREFILL_TOKENS_PER_CALL, tiledPrefill, TILE_SEED_TOKENS, type PrefillResult } from './generate/prefill';
export { rankSweep, ropeSplitSweep, designSpecs, designRows, paretoFront, rankSweepFigure, ropeSplitFigure, type DesignSweep, type DesignPoint, type DesignRow, type SweepFamily, type SweepName as DesignSweepName } from './notebook/design-space';
export { designTrain, designSourceSpec } from './notebook/design-space';
export {
  SettingsError, settingsFromEnv, currentSettings, backendSettings, BACKEND_CHOICES, FUSED_GROUPS, parseBackendChoice,
  type Settings, type BackendSettings, type CpuSettings, type WebgpuSettings, type NotebookSettings, type BackendChoice,
  type FusedGroup, type Env,
} from './settings';
