// One writer per run folder: <run>/lock holds {pid, host, startedAt} while a process trains there. It is made
// with link(2), which fails if the name exists, so two processes starting together cannot both get it. A lock
// whose process is gone (same host, dead PID: a kill -9) is taken over with a note; any other is refused at once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic';
import { TrainingError } from './errors';

export const LOCK_FILE = 'lock';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

export interface RunLock {
  file: string;
  /** Set when a stale lock was taken over: who held it. */
  tookOver?: LockOwner;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process of this host is alive (EPERM: it exists but belongs to someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sameOwner = (a: LockOwner | undefined, b: LockOwner | undefined) =>
  !!a && !!b && a.pid === b.pid && a.host === b.host && a.startedAt === b.startedAt;

/** A lock whose process is gone: of this host, and its PID (not ours) no longer runs. */
function isStale(holder: LockOwner | undefined): holder is LockOwner {
  return holder !== undefined && holder.host === os.hostname() && holder.pid !== process.pid && !alive(holder.pid);
}

function lockedError(runDir: string, file: string, holder: LockOwner | undefined): TrainingError {
  const held = holder ? `pid ${holder.pid} on host ${holder.host} since ${holder.startedAt}` : 'an unreadable lock';
  const fix = holder?.host === os.hostname() || !holder
    ? `wait for it to finish or stop it; if no such process trains there, delete ${file}`
    : `wait for it to finish; if that host no longer trains there, delete ${file}`;
  return new TrainingError(`${runDir} is being trained by ${held} (lock ${file}); ${fix}`);
}

/**
 * Throws what acquireRunLock would if `runDir` is locked by a live writer, without taking the lock: for a
 * caller that has minutes of data preparation to do before it trains.
 */
export function checkRunUnlocked(runDir: string): void {
  const file = path.join(runDir, LOCK_FILE);
  if (!fs.existsSync(file)) return;
  const holder = readOwner(file);
  if (!isStale(holder)) throw lockedError(runDir, file, holder);
}

/** Takes the lock of `runDir` (which must exist), or throws a one-line TrainingError naming the holder. */
export function acquireRunLock(runDir: string): RunLock {
  const file = path.join(runDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  // The content is complete before the name appears, so a reader never sees an empty lock.
  const draft = `${file}.new-${process.pid}`;
  writeFileAtomic(draft, JSON.stringify(me) + '\n');
  let tookOver: LockOwner | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(draft, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (attempt >= 5) throw new TrainingError(`cannot take the lock ${file}: other processes keep taking it; choose another --out`);
      }
      const holder = readOwner(file);
      if (!holder && !fs.existsSync(file)) continue; // released in the meantime
      if (!isStale(holder)) throw lockedError(runDir, file, holder);
      // Move the stale lock aside under a name of our own, then check it is the one judged stale: another
      // process may have taken it over (and locked anew) in between, and that lock must go back.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      if (!sameOwner(readOwner(aside), holder)) {
        try {
          fs.linkSync(aside, file);
        } catch {
          // A third process already holds the name; its lock stands.
        }
        fs.rmSync(aside, { force: true });
        continue;
      }
      fs.rmSync(aside, { force: true });
      tookOver = holder;
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    if (sameOwner(readOwner(file), me)) fs.rmSync(file, { force: true });
  };
  // process.exit (a second Ctrl-C) skips finally blocks; the lock still goes.
  process.on('exit', release);
  return { file, tookOver, release };
}
