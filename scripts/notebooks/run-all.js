#!/usr/bin/env node
// Runs notebooks headless with a real Jupyter client and the project's tslab kernel, then checks that each one
// wrote what it promises. Exit 0 when every notebook ran every cell and produced every declared file; 1 otherwise.
//
//   node scripts/notebooks/run-all.js [NOTEBOOK.ipynb ...] [--out-dir DIR] [--timeout SECONDS] [--scale NAME] [--root DIR]
//
// - Notebooks: the ones named, else every notebooks/*.ipynb in name order.
// - Executed copies (with outputs) go to --out-dir (default build/notebooks/), written even when a cell fails,
//   plus summary.json with per-cell times.
// - MLA_SCALE: --scale, else $MLA_SCALE, else smoke.
// - Where figures/ and data/results/ are written: --root, else $MLA_ROOT, else build/smoke/ at smoke scale (a
//   smoke run proves nothing, so it never overwrites committed results; notebooks run from Jupyter follow the
//   same rule, lib/notebook/paths.ts outputRoot), else the project root. To rewrite the committed smoke-scale
//   files themselves: --scale smoke --root .
// - Each notebook lists its files in its metadata: {"mla": {"produces": ["figures/x.png", "data/results/x.csv"]}},
//   paths relative to the project root ($MLA_ROOT when set, as lib/notebook's projectRoot()). A file counts
//   only if this run wrote it: older copies from earlier runs do not.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const { ROOT, problems } = require('./install-kernel');

const USAGE = 'usage: node scripts/notebooks/run-all.js [NOTEBOOK.ipynb ...] [--out-dir DIR] [--timeout SECONDS] [--scale smoke|small|gpu|paper] [--root DIR]';
const PYTHON = process.env.MLA_JUPYTER_PYTHON || '/usr/bin/python3';

function fail(message) {
  console.error(`run-all: ${message}`);
  return 1;
}

function listNotebooks(names) {
  if (names.length > 0) return names.map((n) => path.resolve(n));
  const dir = path.join(ROOT, 'notebooks');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The files a notebook promises, from its metadata; throws with the fix when the list is missing or malformed. */
function declaredOutputs(file, nb) {
  const produces = nb.metadata && nb.metadata.mla && nb.metadata.mla.produces;
  if (!Array.isArray(produces) || !produces.every((p) => typeof p === 'string' && p && !path.isAbsolute(p))) {
    throw new Error(
      `${path.relative(ROOT, file)} declares no outputs: add metadata.mla.produces, a list of paths relative to the ` +
        'project root (e.g. ["figures/kv-cache-study.png", "data/results/kv-cache-all.csv"]; [] for none)',
    );
  }
  return produces;
}

/** Declared files that are missing or were not written since `sinceMs`. */
function missingOutputs(root, produces, sinceMs) {
  const out = [];
  for (const rel of produces) {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) out.push(`${rel} (missing)`);
    // Whole seconds: some filesystems keep coarse modification times.
    else if (Math.floor(fs.statSync(file).mtimeMs / 1000) < Math.floor(sinceMs / 1000)) out.push(`${rel} (not rewritten by this run)`);
    else if (fs.statSync(file).size === 0) out.push(`${rel} (empty)`);
  }
  return out;
}

function runExecutor(source, dest, timeout, env) {
  return new Promise((resolve) => {
    const script = path.join(__dirname, 'execute.py');
    const child = spawn(PYTHON, [script, source, dest, '--kernel', 'tslab', '--timeout', String(timeout)], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() || '';
      let summary = null;
      try {
        summary = JSON.parse(last);
      } catch {
        // The executor died before its summary (kernel failed to start, Python error): its stderr says why.
      }
      resolve({ code, summary });
    });
  });
}

async function main(argv) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'out-dir': { type: 'string', default: path.join(ROOT, 'build', 'notebooks') },
        timeout: { type: 'string', default: '900' },
        scale: { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return fail(`${err.message}\n${USAGE}`);
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const timeout = Number(args.values.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) return fail(`--timeout ${args.values.timeout} must be a positive whole number of seconds`);

  const setup = problems();
  if (setup.length > 0) return fail(`the notebook setup is incomplete:\n  ${setup.join('\n  ')}`);
  const probe = spawnSync(PYTHON, ['-c', 'import nbclient, nbformat'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return fail(
      `${PYTHON} cannot import nbclient (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}); ` +
        'install Debian\'s python3-nbclient python3-ipykernel jupyter-nbconvert, or set MLA_JUPYTER_PYTHON to a Python that has them',
    );
  }

  const notebooks = listNotebooks(args.positionals);
  if (notebooks.length === 0) return fail('no notebooks to run');
  const outDir = path.resolve(args.values['out-dir']);
  fs.mkdirSync(outDir, { recursive: true });
  const scaleName = args.values.scale || process.env.MLA_SCALE || 'smoke';
  // The library's own rule (lib/notebook/paths.ts outputRoot), so the files checked are the files written.
  const { outputRoot } = require(path.join(ROOT, 'dist', 'lib', 'notebook', 'paths.js'));
  const root = outputRoot({ MLA_SCALE: scaleName, MLA_ROOT: args.values.root || process.env.MLA_ROOT }, ROOT);
  const env = {
    ...process.env,
    MLA_SCALE: scaleName,
    MLA_ROOT: root,
    JUPYTER_PATH: [path.join(ROOT, '.jupyter-env', 'share', 'jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    // Quiets debugpy's "frozen modules" warning, printed by every Jupyter process on Python 3.11.
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };

  console.log(`run-all: ${notebooks.length} notebook(s), MLA_SCALE=${scaleName}, per-cell timeout ${timeout} s, outputs under ${root}`);
  const results = [];
  for (const file of notebooks) {
    const rel = path.relative(ROOT, file);
    const result = { notebook: rel, ok: false, seconds: null, cells: [], problems: [] };
    results.push(result);
    let produces;
    try {
      produces = declaredOutputs(file, JSON.parse(fs.readFileSync(file, 'utf8')));
    } catch (err) {
      result.problems.push(err.message);
      console.error(`run-all: FAIL ${rel}: ${err.message}`);
      continue;
    }
    const dest = path.join(outDir, path.basename(file));
    const started = Date.now();
    console.log(`run-all: running ${rel} ...`);
    const { code, summary } = await runExecutor(file, dest, timeout, env);
    result.seconds = summary ? summary.seconds : (Date.now() - started) / 1000;
    result.cells = summary ? summary.cells : [];
    if (!summary) {
      result.problems.push(`the Jupyter client exited with code ${code} before finishing (see the messages above)`);
    } else if (summary.failed) {
      const f = summary.failed;
      const first = f.source.split('\n').find((l) => l.trim() && !l.trim().startsWith('//')) || f.source.split('\n')[0];
      result.problems.push(`cell ${f.index} ${f.reason} (${first.trim()}):\n${indent(f.stderr.trim())}`);
    } else {
      const missing = missingOutputs(root, produces, started);
      if (missing.length > 0) result.problems.push(`declared outputs not produced: ${missing.join(', ')}`);
    }
    result.ok = result.problems.length === 0;
    const where = `executed copy: ${path.relative(process.cwd(), dest)}`;
    if (result.ok) console.log(`run-all: ok   ${rel} in ${result.seconds.toFixed(1)} s (${produces.length} outputs checked; ${where})`);
    else console.error(`run-all: FAIL ${rel} after ${result.seconds.toFixed(1)} s; ${where}\n${indent(result.problems.join('\n'))}`);
  }
  fs.writeFileSync(path.join(outDir, 'summary.json'), JSON.stringify({ scale: scaleName, results }, null, 2) + '\n');
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) return fail(`${failed.length} of ${results.length} notebook(s) failed: ${failed.map((r) => r.notebook).join(', ')}`);
  console.log(`run-all: all ${results.length} notebook(s) ok`);
  return 0;
}

const indent = (s) => s.split('\n').map((l) => `    ${l}`).join('\n');

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));

module.exports = { declaredOutputs, missingOutputs };
