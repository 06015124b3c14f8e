// Sweeps: a sweep file expanded to runs named by their run folders, trained on this machine (N local workers,
// or one run of an array job) or through a BullMQ queue on Redis, with status and tables read from the folders.
export { SweepError } from './errors';
export { readSweepFile, parseSweep, expandSweep, SWEEP_TRAIN_KEYS } from './spec';
export type { SweepFile, SweepPoint } from './spec';
export { planSweep, prepareSweepData, runAt } from './plan';
export type { PlannedRun, SweepPlan, PlanOptions } from './plan';
export { runStatus, sweepStatus, countStates, writeFailure, FAILURE_FILE, CLAIM_FILE, RUN_STATES } from './status';
export type { RunState, RunStatus, RunFailure, RunClaim } from './status';
export { trainRun } from './run-one';
export type { TrainRunOptions, RunProgress } from './run-one';
export { runSweepHere, runSweepInChildren, runOneHere, runsToDo } from './local';
export type { LocalOutcome, ChildCommand } from './local';
export { submitSweep, startSweepWorker, redisConnection, DEFAULT_QUEUE, DEFAULT_LOCK_MS, DEFAULT_STALLED_MS } from './queue';
export type { SweepJobData, SweepJobResult, SweepJobProgress, SubmitOptions, SubmitSummary, SweepWorkerOptions, SweepWorker } from './queue';
export { gpuPinning, applyGpuPin, listPciGpus, findDeviceSelectLayer, nvidiaGpuOfPid, samePciAddress, driPrimeTag } from './gpu';
export type { GpuPin, PciGpu } from './gpu';
export { sweepReport, writeSweepReport, toCsv, lossFigureSvg } from './report';
export type { SweepReport, SweepRunRow, SweepGroupRow, SweepGroup } from './report';
