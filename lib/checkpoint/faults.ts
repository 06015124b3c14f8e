// Fault injection for tests: every write of a checkpoint save passes through named points, and a test may
// install a hook that fails (throws an ENOSPC error) or kills the process there, to prove that a fault at any
// point loses nothing already written. No hook is installed outside tests; a point then costs one call.

/**
 * Points of one atomic write, in order: `create` before the temporary file is opened, `written` once its
 * bytes are written (before fsync), `rename` just before it replaces the target, `renamed` just after.
 * `remove` comes before an old checkpoint set is deleted.
 */
export type FaultPhase = 'create' | 'written' | 'rename' | 'renamed' | 'remove';
export type FaultHook = (phase: FaultPhase, file: string) => void;

let hook: FaultHook | undefined;

/** Installs (or, without an argument, removes) the process's fault hook. */
export function setFaultHook(h?: FaultHook): void {
  hook = h;
}

export function faultPoint(phase: FaultPhase, file: string): void {
  hook?.(phase, file);
}

/** An error shaped as the one fs throws when the disk is full, for hooks that simulate it. */
export function enospcError(file: string): NodeJS.ErrnoException {
  const err = new Error(`ENOSPC: no space left on device, write '${file}'`) as NodeJS.ErrnoException;
  err.code = 'ENOSPC';
  err.syscall = 'write';
  err.path = file;
  return err;
}
