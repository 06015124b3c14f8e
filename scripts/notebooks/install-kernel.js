#!/usr/bin/env node
// Registers the tslab Jupyter kernel for this project only, and links the project into its own node_modules
// so notebooks can `import ... from 'mla-lab'`.
//
//   node scripts/notebooks/install-kernel.js          install (idempotent)
//   node scripts/notebooks/install-kernel.js --check  report what is missing, exit 1 if anything is
//
// What it writes:
// - .jupyter-env/share/jupyter/kernels/tslab/kernel.json — the same layout `tslab install --prefix=.jupyter-env`
//   makes, but pointing at this Node binary and this project's tslab, so nothing global is used or changed.
//   Jupyter finds it when JUPYTER_PATH=<project>/.jupyter-env/share/jupyter (scripts/notebooks/jupyter.sh
//   sets that). The kernel keeps the name `tslab`, so the notebooks also open with a global tslab install.
// - node_modules/mla-lab -> .. — Node alone would resolve `require('mla-lab')` by package self-reference, but
//   tslab's type checker uses the Node10 module resolution, which knows no `exports` and no self-reference; it
//   finds the types only through a real node_modules/mla-lab folder. `npm ci`/`npm install` may delete the link:
//   run this script again after them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const KERNELS_DIR = path.join(ROOT, '.jupyter-env', 'share', 'jupyter', 'kernels');
const KERNEL_JSON = path.join(KERNELS_DIR, 'tslab', 'kernel.json');
const TSLAB_BIN = path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
const LINK = path.join(ROOT, 'node_modules', 'mla-lab');
const LINK_TARGET = '..';
const PACKAGE_NAME = 'mla-lab';

function kernelSpec() {
  return {
    // The absolute Node path keeps the kernel working when Jupyter is started without this Node on PATH
    // (tslab's own launcher is `#!/usr/bin/env node`).
    argv: [process.execPath, TSLAB_BIN, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (tslab, mla-lab)',
    language: 'typescript',
    metadata: { installedBy: 'scripts/notebooks/install-kernel.js', node: process.version },
  };
}

/** Problems with the current setup, each a sentence that says how to fix it; empty when all is well. */
function problems() {
  const out = [];
  const rerun = 'run `node scripts/notebooks/install-kernel.js`';
  if (!fs.existsSync(TSLAB_BIN)) out.push(`${TSLAB_BIN} is missing: run \`npm ci\` first`);
  if (!fs.existsSync(KERNEL_JSON)) {
    out.push(`no project kernel spec at ${KERNEL_JSON}: ${rerun}`);
  } else {
    let spec;
    try {
      spec = JSON.parse(fs.readFileSync(KERNEL_JSON, 'utf8'));
    } catch (err) {
      out.push(`${KERNEL_JSON} is not valid JSON (${err.message}): ${rerun}`);
    }
    const exe = spec && Array.isArray(spec.argv) ? spec.argv.slice(0, 2) : [];
    for (const file of exe) {
      if (!fs.existsSync(file)) out.push(`${KERNEL_JSON} starts ${file}, which does not exist: ${rerun}`);
    }
  }
  const real = fs.existsSync(LINK) ? fs.realpathSync(LINK) : null;
  if (real !== fs.realpathSync(ROOT)) {
    out.push(`node_modules/${PACKAGE_NAME} does not lead to the project root (${real ?? 'missing'}): ${rerun}`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'lib', 'index.d.ts'))) {
    out.push('dist/lib/index.d.ts is missing: run `npm run build` (notebooks import the built library)');
  }
  return out;
}

function writeKernelSpec() {
  fs.mkdirSync(path.dirname(KERNEL_JSON), { recursive: true });
  fs.writeFileSync(KERNEL_JSON, JSON.stringify(kernelSpec(), null, 2) + '\n');
  console.log(`kernel spec: ${path.relative(ROOT, KERNEL_JSON)} (tslab ${tslabVersion()}, node ${process.version})`);
}

function tslabVersion() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'tslab', 'package.json'), 'utf8')).version;
}

function linkPackage() {
  let stat = null;
  try {
    stat = fs.lstatSync(LINK);
  } catch {
    // Not there yet.
  }
  if (stat && !stat.isSymbolicLink()) {
    throw new Error(
      `node_modules/${PACKAGE_NAME} exists and is not a symlink; move it away so the project can link itself there`,
    );
  }
  if (stat && fs.readlinkSync(LINK) === LINK_TARGET) {
    console.log(`link: node_modules/${PACKAGE_NAME} -> ${LINK_TARGET} (already there)`);
    return;
  }
  if (stat) fs.unlinkSync(LINK);
  // A relative target keeps the link valid when the checkout moves.
  fs.symlinkSync(LINK_TARGET, LINK, 'dir');
  console.log(`link: node_modules/${PACKAGE_NAME} -> ${LINK_TARGET}`);
}

function main(argv) {
  const check = argv.includes('--check');
  const unknown = argv.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`install-kernel: unknown argument(s) ${unknown.join(' ')}; usage: install-kernel.js [--check]`);
    return 2;
  }
  if (!check) {
    if (!fs.existsSync(TSLAB_BIN)) {
      console.error(`install-kernel: ${TSLAB_BIN} is missing: run \`npm ci\` first`);
      return 1;
    }
    writeKernelSpec();
    linkPackage();
    console.log(`start Jupyter with: scripts/notebooks/jupyter.sh notebook notebooks/`);
  }
  const found = problems();
  for (const p of found) console.error(`notebook setup: ${p}`);
  if (check && found.length === 0) console.log('notebook setup: ok');
  // Installing succeeds even before the first build; --check wants everything.
  return check && found.length > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { ROOT, KERNEL_JSON, problems };
