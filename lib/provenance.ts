// Where a result was made: the lab's commit, whether its tracked files had uncommitted changes, and the
// machine. One module, so a run's config.json and a bench record can never disagree on what "dirty" means.
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

export interface MachineInfo {
  /** os.cpus()[0].model */
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  arch: string;
  node: string;
  /** 1-minute load average when the run started: other work on the machine skews timings. */
  loadAverage: number;
}

export interface Provenance {
  /** `git rev-parse HEAD` of the lab's own checkout, null outside a git checkout. */
  commit: string | null;
  /**
   * Whether tracked files differ from that commit (the commit alone does not pin the code then); untracked files
   * (run folders, results) do not count. null when git cannot say.
   */
  dirty: boolean | null;
  machine: MachineInfo;
}

/** git in the lab's own checkout (this file's folder), not the caller's working directory, which may be any repository. */
function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: path.resolve(__dirname), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
  } catch {
    return null;
  }
}

export function gitCommit(): string | null {
  const sha = git(['rev-parse', 'HEAD']);
  return sha !== null && /^[0-9a-f]{40}$/.test(sha) ? sha : null;
}

/** Uncommitted changes to tracked files of the lab's checkout; null outside a checkout. */
export function gitDirty(): boolean | null {
  if (gitCommit() === null) return null;
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return status === null ? null : status.length > 0;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: os.platform(),
    arch: os.arch(),
    node: process.version,
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

export function provenance(): Provenance {
  return { commit: gitCommit(), dirty: gitDirty(), machine: machineInfo() };
}
