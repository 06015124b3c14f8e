// Where notebooks write their results. A kernel runs in the notebook's folder (notebooks/), so paths are taken
// from the project root, not from the working directory: figures/ and data/results/ at the top of the project.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors';
import { DEFAULT_SCALE } from './scale';
import { type Env, notebookSettingsFromEnv, processEnv } from '../settings';

const PACKAGE_NAME = 'mla-lab';

/**
 * The folder results go under: $MLA_ROOT when set (the headless runner's tests point it at a temporary folder),
 * else the nearest folder at or above the working directory whose package.json is this project's, else the
 * working directory.
 */
export function projectRoot(cwd: string = process.cwd(), env: Env = processEnv()): string {
  const root = notebookSettingsFromEnv(env).root;
  if (root) return path.resolve(root);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (isProjectRoot(dir)) return dir;
    if (path.dirname(dir) === dir) return path.resolve(cwd);
  }
}

function isProjectRoot(dir: string): boolean {
  const file = path.join(dir, 'package.json');
  if (!fs.existsSync(file)) return false;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/** Where smoke-scale results go, under the project root (gitignored with the rest of build/). */
export const SMOKE_OUTPUT_DIR = path.join('build', 'smoke');

/**
 * Whether $MLA_SCALE names the smoke scale. Only the name is read, not scale()'s checks: a figure is saved even
 * where a scale is refused (notebook 01 uses none), and any name but `smoke` writes to the committed folders.
 */
export function isSmokeScale(env: Env = processEnv()): boolean {
  return (notebookSettingsFromEnv(env).scale ?? DEFAULT_SCALE) === 'smoke';
}

/**
 * The folder figures/ and data/results/ are written under: $MLA_ROOT when set (the headless runner, its tests,
 * `run-all.js --scale smoke --root .`), else build/smoke/ under the project root at smoke scale, else the
 * project root. The scale decides, not who runs the notebook: a smoke run proves nothing, so one started from
 * Jupyter must not replace the committed results any more than a headless one.
 */
export function outputRoot(env: Env = processEnv(), cwd: string = process.cwd()): string {
  const fixed = notebookSettingsFromEnv(env).root;
  if (fixed) return path.resolve(fixed);
  const root = projectRoot(cwd, env);
  return isSmokeScale(env) ? path.join(root, SMOKE_OUTPUT_DIR) : root;
}

export const figuresDir = (root: string) => path.join(root, 'figures');
export const resultsDir = (root: string) => path.join(root, 'data', 'results');

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A figure or table name becomes a file name, so it may not hold path separators or start with a dot. */
export function checkOutputName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 120) {
    throw new DataError(
      `${what} name ${JSON.stringify(name)} is not usable as a file name: use letters, digits, '.', '_' and '-' ` +
        `(e.g. 'kv-cache-per-token')`,
    );
  }
  return name;
}

/** Writes a file, creating its folder, and returns its path. */
export function writeOutput(file: string, contents: string | Uint8Array): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, contents);
  return file;
}
