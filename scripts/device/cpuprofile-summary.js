// @ts-check
// Where a Node process spent its time, from a V8 .cpuprofile (node --cpu-prof): self time by package (tfjs-core,
// tfjs-backend-webgpu, the Dawn binding, this lab, node internals), by function, and the idle share (time the
// main thread waited, e.g. for the GPU), and native time by its JavaScript caller. Used to tell CPU-side
// dispatch overhead from GPU work.
//
//   node scripts/device/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--out FILE.json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { emit, int } = require('./common');

/** The package (or category) a script URL belongs to. @param {string} url */
function packageOf(url) {
  if (!url) return '(native or V8)';
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/dist/lib/')) return 'mla-lab lib';
  if (url.includes('/scripts/')) return 'mla-lab scripts';
  return path.basename(url);
}

/**
 * @param {{nodes: {id: number, callFrame: {functionName: string, url: string, lineNumber: number}}[], samples: number[], timeDeltas: number[], startTime: number, endTime: number}} prof
 * @param {number} top
 */
function summarize(prof, top) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parentOf = new Map();
  for (const n of prof.nodes) for (const c of /** @type {any} */ (n).children ?? []) parentOf.set(c, n.id);
  /** @type {Map<string, number>} */
  const nativeByCaller = new Map();
  /** @type {Map<string, number>} */
  const byPackage = new Map();
  /** @type {Map<string, number>} */
  const byFunction = new Map();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    const n = byId.get(prof.samples[i]);
    if (!n) continue;
    total += dt;
    const { functionName, url, lineNumber } = n.callFrame;
    const special = /^\((idle|program|garbage collector|root)\)$/.test(functionName) ? functionName : null;
    const pkg = special ?? packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt);
    const fn = special ?? `${functionName || '(anonymous)'} ${path.basename(url)}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + dt);
    if (!special && !url) {
      // Native code (the Dawn binding's methods show up unnamed): charge it to the nearest JavaScript caller.
      let p = byId.get(parentOf.get(n.id) ?? -1);
      while (p && !p.callFrame.url && parentOf.has(p.id)) p = byId.get(/** @type {number} */ (parentOf.get(p.id)));
      const caller = p ? `${p.callFrame.functionName || '(anonymous)'} ${path.basename(p.callFrame.url)}:${p.callFrame.lineNumber + 1}` : '(unknown)';
      nativeByCaller.set(caller, (nativeByCaller.get(caller) ?? 0) + dt);
    }
  }
  /** @param {Map<string, number>} m */
  const table = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: +(us / Math.max(total, 1)).toFixed(4) }));
  return { wallMs: Math.round((prof.endTime - prof.startTime) / 1000), sampledMs: Math.round(total / 1000), byPackage: table(byPackage), byFunction: table(byFunction), nativeByCaller: table(nativeByCaller) };
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' }, out: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) {
    process.stderr.write('usage: node scripts/device/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--out FILE.json]\n');
    process.exit(2);
  }
  const prof = JSON.parse(fs.readFileSync(positionals[0], 'utf8'));
  emit({ profile: path.basename(positionals[0]), ...summarize(prof, int('top', String(values.top))) }, values.out);
}

module.exports = { summarize };
