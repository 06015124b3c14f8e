// Facts about the code and machine a run was made with, for config.json.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** `git rev-parse HEAD` of the lab's own checkout (not the caller's cwd), or null outside a git checkout. */
export function gitCommit(): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: path.resolve(__dirname),
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}
