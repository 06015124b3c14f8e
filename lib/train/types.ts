// What the trainer takes and gives: options, the data it reads through, the hooks a caller (CLI, notebook)
// watches it with, and the metrics it logs. Nothing here knows what model is trained.

/** A stream of training micro-batches whose position can be saved and restored exactly. */
export interface BatchSource {
  /** The next micro-batch of `batch` rows of `seqLen` tokens: ids and their next-token targets, each (B·T) row-major. */
  next(batch: number, seqLen: number): { ids: Int32Array; targets: Int32Array };
  /** The stream's position, JSON-serialisable; setState(getState()) continues the same sequence of batches. */
  getState(): unknown;
  setState(state: unknown): void;
}

export interface TrainData {
  train: BatchSource;
  /** Held-out tokens, in corpus order, for validation perplexity; absent → no validation lines. */
  val?: ArrayLike<number>;
  /** What config.json records about the data (spec, corpus hash, tokenizer, ...). */
  describe?: Record<string, unknown>;
}

export type ScheduleKind = 'cosine' | 'original';
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface TrainOptions {
  /** Training tokens; the run makes ceil(tokens / (batchSize·seqLen·accumSteps)) optimizer steps. */
  tokens: number;
  /** Rows per micro-batch (the original: 12). */
  batchSize: number;
  /** Tokens per row; at most the model's maxSeqLen. */
  seqLen: number;
  /** Micro-batches averaged into one optimizer step (the original: 4). */
  accumSteps: number;
  /** Peak learning rate (the original: 6e-4). */
  lr: number;
  /** Warm-up steps of the cosine schedule; default 5% of the steps (see lib/costs/lr-schedule.ts). */
  warmupSteps?: number;
  /** 'cosine' sized to this run, or 'original': the study's mis-sized schedule that peaks at ~13% of lr. */
  schedule: ScheduleKind;
  /** Cosine floor as a fraction of lr (the original: 0.1). */
  minLrRatio: number;
  /** AdamW as torch's defaults, which the original used: betas (0.9, 0.999), eps 1e-8; weight decay 0.01 on all params. */
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (the original: 1.0); 0 disables clipping. */
  clipNorm: number;
  /** Seeds the dropout stream; the caller seeds the model init and the data sampler. */
  seed: number;
  /** The run folder. */
  outDir: string;
  /** Continue the run in outDir from its last checkpoint. */
  resume: boolean;
  /** Validate every N steps (and at the end); 0: only at the end. */
  evalEvery: number;
  /** Validation tokens scored at most (from the start of the split); 0: the whole split. */
  evalTokens: number;
  /** Rows per validation batch; default batchSize. */
  evalBatchSize?: number;
  /** Checkpoint every N steps (and at the end); 0: only at the end. */
  checkpointEvery: number;
  /**
   * Checkpoint sets kept on disk (at least 1; default 2), the newest first. Older ones let a run that went bad
   * go back; the newest set whose loss was sane is kept beyond this while the loss is not.
   */
  keepCheckpoints: number;
  /**
   * Steps in a row with an insane loss (above ln(V) + 2 nats, or above twice the running median) that stop the
   * run as diverged (default 5; 0: only a non-finite loss or gradient stops it). See divergence.ts.
   */
  divergenceSteps: number;
  /** 'auto': a progress bar on a TTY, plain log lines otherwise. Written to stderr. */
  progress: ProgressMode;
  /** Lines mode: a line every N steps (also at least every 30 s). */
  logEvery: number;
  /** Extra fields for config.json: preset, backend, device, ... */
  runInfo?: Record<string, unknown>;
  /** Extra `__metadata__` of every model.safetensors written (e.g. the tokenizer path `mla generate` reads). */
  checkpointMetadata?: Record<string, string>;
}

export interface StepMetrics {
  kind: 'train';
  /** Optimizer steps done (1-based: the first update logs step 1). */
  step: number;
  /** Training tokens seen so far. */
  tokens: number;
  /** Mean training loss of this step's micro-batches (nats per token). */
  loss: number;
  /** Learning rate this step used. */
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** This step's tokens over its wall time. */
  tokensPerSec: number;
  /** tf.memory().numTensors after the step: flat across steps unless something leaks. */
  liveTensors: number;
  backend: string;
  /** ISO time the step ended. */
  time: string;
  /** Training wall time so far, summed over resumes. */
  elapsedSec: number;
}

export interface ValMetrics {
  kind: 'val';
  step: number;
  tokens: number;
  valLoss: number;
  valPerplexity: number;
  /** Tokens scored. */
  valTokens: number;
  time: string;
}

export type MetricsLine = StepMetrics | ValMetrics;

export interface TrainHooks {
  /**
   * Called once step `step`'s update is recorded and its loss read back, before anything of the step is logged,
   * judged or checkpointed: a throw ends the run at that step with that error, and what earlier steps wrote
   * (metrics lines, checkpoints) stays. The readback has already waited for the device, so a check here adds
   * no wait of its own (lib/experiments/runs.ts checks the GPU's error scope here).
   */
  checkStep?(step: number): void | Promise<void>;
  onStep?(m: StepMetrics): void | Promise<void>;
  onEval?(m: ValMetrics): void | Promise<void>;
  onCheckpoint?(info: { step: number; dir: string }): void | Promise<void>;
  /** Checked before every step; true ends the run cleanly (a checkpoint is written first). */
  shouldStop?(): boolean;
}

export interface TrainResult {
  runDir: string;
  /** Optimizer steps done in total (including those before a resume). */
  steps: number;
  totalSteps: number;
  tokens: number;
  /** Loss of the last step. */
  finalLoss: number;
  finalValLoss?: number;
  finalValPerplexity?: number;
  /** true when hooks.shouldStop ended the run early. */
  stopped: boolean;
  /** Folder of the last checkpoint. */
  checkpoint: string;
  elapsedSec: number;
  /** Mean training throughput of this process (excludes validation and checkpoint time). */
  tokensPerSec: number;
  /** Wall seconds this process spent writing checkpoints. */
  checkpointSec: number;
}
