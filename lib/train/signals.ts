// Stopping a run cleanly on a signal: SIGINT (Ctrl-C), SIGTERM (kill, timeout, schedulers) and SIGHUP (a
// closed terminal) all ask the trainer to stop after the current step and write a checkpoint. A second signal
// exits at once, with the shell's code for it (128 + its number), for when the first is not enough.
import * as os from 'node:os';

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface StopSignals {
  /** For TrainHooks.shouldStop: true once a signal came. */
  shouldStop(): boolean;
  /** The first signal received, if any. */
  received(): NodeJS.Signals | undefined;
  /** 128 + the first signal's number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP); undefined before one. */
  exitCode(): number | undefined;
  /** Removes the handlers (the process's default behaviour comes back). */
  dispose(): void;
}

export const signalExitCode = (sig: NodeJS.Signals): number => 128 + (os.constants.signals[sig] ?? 0);

/**
 * Installs handlers for `STOP_SIGNALS` and returns what a training loop needs. `onSignal` says what happens
 * (default: one line on stderr); console is used because it ignores a closed stderr, as after a SIGHUP.
 */
export function installStopSignals(onSignal: (sig: NodeJS.Signals) => void = defaultNotice): StopSignals {
  let first: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (first !== undefined) process.exit(signalExitCode(sig));
    first = sig;
    onSignal(sig);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    shouldStop: () => first !== undefined,
    received: () => first,
    exitCode: () => (first === undefined ? undefined : signalExitCode(first)),
    dispose: () => {
      for (const s of STOP_SIGNALS) process.removeListener(s, handler);
    },
  };
}

function defaultNotice(sig: NodeJS.Signals): void {
  console.error(`\n${sig}: stopping after this step (a checkpoint will be written); send it again to quit now`);
}
