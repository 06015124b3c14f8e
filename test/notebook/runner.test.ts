// The headless runner end to end: real Jupyter client, the project's tslab kernel, notebooks importing 'mla-lab'.
// Skipped where Debian's Jupyter client is not installed; a missing kernel spec or package link fails instead,
// with the setup command in the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const RUNNER = path.join(ROOT, 'scripts', 'notebooks', 'run-all.js');
const PYTHON = process.env.MLA_JUPYTER_PYTHON || '/usr/bin/python3';

function jupyterMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import nbclient, nbformat'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `no Jupyter client: ${PYTHON} cannot import nbclient (apt-get install python3-nbclient python3-ipykernel)`;
}
const skip = jupyterMissing();

/** A scratch folder inside the project, so fixture notebooks resolve 'mla-lab' like the real ones. */
function scratch(): string {
  const base = path.join(ROOT, 'build', 'notebook-tests');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, 'run-'));
}

function notebook(cells: string[], produces?: string[]): string {
  const metadata: Record<string, unknown> = { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } };
  if (produces) metadata.mla = { produces };
  return JSON.stringify({
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, execution_count: null, metadata: {}, outputs: [], source })),
    metadata,
    nbformat: 4,
    nbformat_minor: 5,
  });
}

/** Removes a scratch folder once its test passed (each holds a copy of plotly.js and executed notebooks). */
function cleanUp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

function runRunner(args: string[], root: string) {
  const r = spawnSync(process.execPath, [RUNNER, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MLA_ROOT: root, MLA_SCALE: 'smoke' },
  });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

interface Summary {
  results: { notebook: string; ok: boolean; problems: string[]; cells: { index: number; seconds: number }[] }[];
}

test('notebook 01 runs headless and writes every file it declares', { skip, timeout: 300_000 }, () => {
  const dir = scratch();
  const root = path.join(dir, 'root');
  const out = path.join(dir, 'out');
  const { code, output } = runRunner([path.join(ROOT, 'notebooks', '01-kv-cache.ipynb'), '--out-dir', out], root);
  assert.equal(code, 0, output);
  const declared: string[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', '01-kv-cache.ipynb'), 'utf8')).metadata.mla.produces;
  assert.ok(declared.some((f) => f.endsWith('.png')) && declared.some((f) => f.endsWith('.csv')));
  for (const f of declared) assert.ok(fs.statSync(path.join(root, f)).size > 0, `${f} is empty`);
  // The study's rows as recomputed: the MLA-with-RoPE latent cache is the study's 2856.
  const csv = fs.readFileSync(path.join(root, 'data', 'results', 'kv-cache-study.csv'), 'utf8');
  assert.match(csv, /^35m-mla-rope,latent,8,357,2856,2856,true$/m);
  // The executed copy holds the outputs: inline plots and tables.
  const executed = fs.readFileSync(path.join(out, '01-kv-cache.ipynb'), 'utf8');
  assert.match(executed, /Plotly\.newPlot/);
  assert.match(executed, /<table/);
  cleanUp(dir);
});

test('the runner reports failing cells, missing or stale outputs and undeclared outputs', { skip, timeout: 300_000 }, () => {
  const dir = scratch();
  const root = path.join(dir, 'root');
  const out = path.join(dir, 'out');
  const files = {
    // Imports the built package through the real kernel; @ts-expect-error fails to compile unless tslab's
    // type checker resolved the package's types (with `any` there would be no error to expect).
    importOk: notebook(
      [
        "import { kvCacheElements, resolveConfig } from 'mla-lab';\nimport * as aq from 'arquero';\n" +
          "const e = kvCacheElements(resolveConfig('35m-mla-rope'), 'latent');\n" +
          '// @ts-expect-error perToken is a number\nconst wrong: string = e.perToken;\n' +
          "const t = aq.table({ perToken: [e.perToken] });\n" +
          "require('fs').writeFileSync(process.env.MLA_ROOT + '/import-ok.csv', t.toCSV());",
      ],
      ['import-ok.csv'],
    ),
    typeError: notebook(['const a = 1;', "const x: number = 'not a number';"], []),
    missing: notebook(['const b = 2;'], ['figures/never.png', 'figures/stale.png']),
    undeclared: notebook(['const c = 3;']),
  };
  const paths = Object.entries(files).map(([name, text]) => {
    const file = path.join(dir, `${name}.ipynb`);
    fs.writeFileSync(file, text);
    return file;
  });
  // A file left from an earlier run does not count.
  fs.mkdirSync(path.join(root, 'figures'), { recursive: true });
  fs.writeFileSync(path.join(root, 'figures', 'stale.png'), 'old');
  const hourAgo = new Date(Date.now() - 3_600_000);
  fs.utimesSync(path.join(root, 'figures', 'stale.png'), hourAgo, hourAgo);

  const { code, output } = runRunner([...paths, '--out-dir', out], root);
  assert.equal(code, 1, output);
  assert.match(output, /3 of 4 notebook\(s\) failed/);
  const summary: Summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'));
  const byName = Object.fromEntries(summary.results.map((r) => [path.basename(r.notebook, '.ipynb'), r]));

  assert.equal(byName.importOk.ok, true, byName.importOk.problems.join('\n'));
  assert.equal(fs.readFileSync(path.join(root, 'import-ok.csv'), 'utf8').trim(), 'perToken\n2856');

  assert.equal(byName.typeError.ok, false);
  assert.match(byName.typeError.problems[0], /cell 1 failed/);
  assert.match(byName.typeError.problems[0], /not assignable to type 'number'/);
  assert.equal(byName.typeError.cells.length, 2);
  // The executed copy is kept for reading even though a cell failed.
  assert.ok(fs.existsSync(path.join(out, 'typeError.ipynb')));

  assert.equal(byName.missing.ok, false);
  assert.match(byName.missing.problems[0], /figures\/never\.png \(missing\)/);
  assert.match(byName.missing.problems[0], /figures\/stale\.png \(not rewritten by this run\)/);

  assert.equal(byName.undeclared.ok, false);
  assert.match(byName.undeclared.problems[0], /declares no outputs: add metadata\.mla\.produces/);
  cleanUp(dir);
});
