// What the sweep tests share: a real Redis on a free port of 127.0.0.1 (stopped after), the `mla` CLI as a
// child process, sweep files of tiny runs in a temp folder, and waiting for a condition.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');

/** redis-server on PATH or at Debian's path; undefined when it is not installed. */
export function redisServerPath(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']) {
    const p = path.join(dir, 'redis-server');
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

export const REDIS_SKIP = redisServerPath() ? false : 'redis-server is not installed (Debian: apt-get install redis-server); the queue tests need a real Redis';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisHandle {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence on a free port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisHandle> {
  const port = await freePort();
  const proc = spawn(redisServerPath()!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out}`)), 10_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Tiny runs: `steps` optimizer steps of 4 rows × 32 tokens, checkpoints every `checkpointEvery`. */
export function tinyTrain(steps: number, checkpointEvery = 4) {
  return { tokens: steps * 4 * 32, batchSize: 4, seqLen: 32, accumSteps: 1, lr: 0.003, evalTokens: 512, checkpointEvery };
}

export function writeSweep(dir: string, name: string, sweep: unknown): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, ...(sweep as object) }, null, 2));
  return file;
}

/** Runs `mla ARGS…` to completion. */
export function mla(args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const background = new Set<ChildProcess>();

/** Kills the background processes still running (a failed test must not leave workers that hold the run open). */
export function killBackground(): void {
  for (const p of background) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  background.clear();
}

/** Starts `mla ARGS…` in the background, collecting its output. */
export function mlaBackground(args: string[]): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  background.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 60_000, everyMs = 25): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The training losses of a run folder's metrics.jsonl, by step. */
export function trainLosses(runDir: string): number[] {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as { kind: string; step: number; loss: number };
      } catch {
        return undefined; // a line cut short by a kill
      }
    })
    .filter((l): l is { kind: string; step: number; loss: number } => l?.kind === 'train')
    .map((l) => l.loss);
}
