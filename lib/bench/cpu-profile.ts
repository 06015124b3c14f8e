// Where the host spent its time during a benchmark: V8's CPU profiler (node:inspector) around the timed part
// only, and a summary of the profile by package (tfjs-core, tfjs-backend-webgpu, the Dawn binding, this lab,
// node internals), by function, the idle share (the main thread waiting, e.g. for the GPU) and native time by
// its JavaScript caller. It tells host-side dispatch cost from GPU work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** A V8 .cpuprofile (what node --cpu-prof writes). */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface CpuShare {
  name: string;
  ms: number;
  /** Fraction of the sampled time. */
  share: number;
}

export interface CpuProfileSummary {
  wallMs: number;
  sampledMs: number;
  byPackage: CpuShare[];
  byFunction: CpuShare[];
  nativeByCaller: CpuShare[];
}

/**
 * Starts the profiler on this thread and returns a function that stops it, writes the .cpuprofile to `file`
 * (atomically) and returns the profile. Unlike node --cpu-prof it covers only the code between the two calls.
 */
export async function startCpuProfile(file: string): Promise<() => Promise<CpuProfile>> {
  const inspector = await import('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = <T>(method: string) =>
    new Promise<T>((resolve, reject) => session.post(method, (err: Error | null, res?: unknown) => (err ? reject(err) : resolve(res as T))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop');
    session.disconnect();
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writeFileAtomic(file, JSON.stringify(profile));
    return profile;
  };
}

/** The package (or category) a script URL belongs to. */
export function packageOf(url: string): string {
  if (!url) return '(native or V8)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/lib/')) return 'mla-lab lib';
  if (url.includes('/dist/cli/')) return 'mla-lab cli';
  return path.basename(url);
}

const frameName = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** Self time by package, by function and (for native code) by nearest JavaScript caller; the `top` largest of each. */
export function summarizeCpuProfile(prof: CpuProfile, top = 25): CpuProfileSummary {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const nativeByCaller = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, dt: number) => m.set(k, (m.get(k) ?? 0) + dt);
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const n = byId.get(prof.samples[i]);
    if (!n) continue;
    total += dt;
    const { functionName, url } = n.callFrame;
    const special = /^\((idle|program|garbage collector|root)\)$/.test(functionName) ? functionName : null;
    add(byPackage, special ?? packageOf(url), dt);
    add(byFunction, special ?? frameName(n), dt);
    if (!special && !url) {
      // Native code (the Dawn binding's methods show up unnamed): charge it to the nearest JavaScript caller.
      let p = byId.get(parentOf.get(n.id) ?? -1);
      while (p && !p.callFrame.url && parentOf.has(p.id)) p = byId.get(parentOf.get(p.id)!);
      add(nativeByCaller, p ? frameName(p) : '(unknown)', dt);
    }
  }
  const table = (m: Map<string, number>): CpuShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: +(us / Math.max(total, 1)).toFixed(4) }));
  return {
    wallMs: Math.round((prof.endTime - prof.startTime) / 1000),
    sampledMs: Math.round(total / 1000),
    byPackage: table(byPackage),
    byFunction: table(byFunction),
    nativeByCaller: table(nativeByCaller),
  };
}
