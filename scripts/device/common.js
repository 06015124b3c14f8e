// @ts-check
// What the GPU-machine scripts share: flag parsing, the built library, reading results without dataSync,
// medians, and the explicit exit that Dawn needs (its threads keep Node alive while a GPU device exists).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');

/** The compiled library (dist/ must be current: `node node_modules/typescript/bin/tsc -p .`). */
function loadLib() {
  const entry = path.join(ROOT, 'dist', 'lib', 'index.js');
  if (!fs.existsSync(entry)) {
    throw new Error(`${entry} is missing; build first with: node node_modules/typescript/bin/tsc -p .`);
  }
  return require(entry);
}

/**
 * A module of the compiled library that the root does not export (kernel switches and shaders a diagnostic
 * measures), e.g. loadModule('backend/webgpu-matmul-kernel').
 * @param {string} rel
 */
function loadModule(rel) {
  loadLib();
  return require(path.join(ROOT, 'dist', 'lib', `${rel}.js`));
}

/**
 * Parses argv with node:util parseArgs (strict), printing `help` for --help.
 * @param {string[]} argv
 * @param {Record<string, {type: 'string' | 'boolean', default?: string | boolean}>} options
 * @param {string} help
 */
function flags(argv, options, help) {
  const { values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', default: false } }, allowPositionals: false });
  if (values.help) {
    process.stdout.write(help + '\n');
    process.exit(0);
  }
  return /** @type {Record<string, any>} */ (values);
}

/**
 * A comma-separated list of positive integers, or an Error naming the flag.
 * @param {string} flag @param {string} value
 */
function intList(flag, value) {
  const out = value.split(',').map((s) => Number(s.trim()));
  if (out.length === 0 || out.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--${flag} '${value}': expected positive integers separated by commas, e.g. 128,512`);
  }
  return out;
}

/** @param {string} flag @param {string} value @param {number} min */
function int(flag, value, min = 1) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} '${value}': expected an integer >= ${min}`);
  return n;
}

/**
 * Starts V8's CPU profiler on this thread (node:inspector) and returns a function that stops it and writes the
 * .cpuprofile to `file`. Unlike node --cpu-prof it covers only the code between the two calls.
 * @param {string} file
 */
async function startCpuProfile(file) {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  /** @param {string} method @returns {Promise<any>} */
  const post = (method) => new Promise((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
  };
}

/** The library's median (lib/experiments/stats.ts). @param {readonly number[]} values @returns {number} */
function median(values) {
  return loadModule('experiments/stats').median(values);
}

/**
 * The library's spread (lib/experiments/stats.ts: n, median, min, max, p25, p75): a timing is never a single
 * number. No values give null (the library refuses to summarise nothing). @param {readonly number[]} values
 */
function spread(values) {
  return values.length === 0 ? null : loadModule('experiments/stats').spread(values);
}

/** Writes JSON to `file` (made atomically) or to stdout when file is undefined. @param {unknown} doc @param {string | undefined} file */
function emit(doc, file) {
  const text = JSON.stringify(doc, null, 1) + '\n';
  if (!file) {
    process.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  loadModule('checkpoint/atomic').writeFileAtomic(file, text);
}

/** The first line of an error, for reports. @param {unknown} err */
function errorLine(err) {
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]}`;
  return String(err);
}

/**
 * Runs main, prints any error, and ends the process explicitly: after WebGPU, Dawn would hold it open.
 * @param {() => Promise<number>} main
 */
function runMain(main) {
  main().then(
    (code) => finish(code),
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      finish(1);
    },
  );
}

/** @param {number} code */
function finish(code) {
  try {
    loadLib().exitProcess(code, true);
  } catch {
    process.exit(code);
  }
}

module.exports = { ROOT, loadLib, loadModule, flags, intList, int, median, spread, emit, errorLine, runMain, startCpuProfile };
