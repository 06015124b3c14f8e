#!/usr/bin/env node
// Builds the native CPU kernels (native/, a Node-API addon over BLAS) from source with node-gyp.
// Never fails the install: when the build cannot run, it says why and exits 0, and lib/backend then
// falls back to tfjs's JS kernels (initBackend's notes say so).
//   MLA_SKIP_NATIVE=1   skip the build
//   MLA_NATIVE_DEBUG=1  build with debug symbols
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const addonPath = path.join(nativeDir, 'build', 'Release', 'mla_native.node');

function skip(reason) {
  console.log(`build-native: skipped: ${reason}`);
  console.log('build-native: the JS CPU kernels will be used; fix the above and run `npm run build:native`.');
  process.exit(0);
}

/** The BLAS header this platform's build links against, or a line saying how to install it. */
function blasProblem() {
  if (process.platform === 'darwin') return null; // Accelerate ships with the OS
  if (process.platform !== 'linux') return `no native build recipe for platform ${process.platform}`;
  const headers = ['/usr/include/cblas.h', `/usr/include/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/cblas.h`];
  if (!headers.some((h) => fs.existsSync(h))) {
    return `no cblas.h found (looked in ${headers.join(', ')}); install OpenBLAS: apt-get install libopenblas-dev`;
  }
  return null;
}

function findNodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  } catch {
    // npm ships its own node-gyp and names it in this variable while running scripts.
    const fromNpm = process.env.npm_config_node_gyp;
    return fromNpm && fs.existsSync(fromNpm) ? fromNpm : null;
  }
}

function main() {
  if (process.env.MLA_SKIP_NATIVE === '1') skip('MLA_SKIP_NATIVE=1');
  const problem = blasProblem();
  if (problem) skip(problem);
  const gyp = findNodeGyp();
  if (!gyp) skip('node-gyp not found (it is a devDependency: npm install --include=dev)');

  const args = [gyp, 'rebuild'];
  // Headers installed with the system's Node (the Debian nodejs package) mean no download is needed.
  if (fs.existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');
  if (process.env.MLA_NATIVE_DEBUG === '1') args.push('--debug');
  console.log(`build-native: node ${args.map((a) => path.relative(root, a) || a).join(' ')}  (in native/)`);
  const res = spawnSync(process.execPath, args, { cwd: nativeDir, stdio: 'inherit' });
  if (res.error) skip(`could not run node-gyp: ${res.error.message}`);
  if (res.status !== 0) skip(`node-gyp exited with status ${res.status} (compiler output above)`);

  // Load it in a child so a broken binary (missing libopenblas.so at run time, say) shows up now.
  const check = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addonPath)}).info().blas)`], {
    encoding: 'utf8',
  });
  if (check.status !== 0) skip(`built, but loading ${path.relative(root, addonPath)} failed: ${check.stderr.trim()}`);
  console.log(`build-native: ok: ${path.relative(root, addonPath)} using ${check.stdout.trim()}`);
}

main();
