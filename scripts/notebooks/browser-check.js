#!/usr/bin/env node
// What a person sees: the project's Jupyter (classic Notebook) in headless Chromium, driven as a new user would.
// Not part of CI (it takes a few minutes and needs Chromium and Debian's Jupyter); run it after changing
// lib/notebook's outputs.
//
//   node scripts/notebooks/browser-check.js [--port 8899] [--out build/browser-check]
//
// It copies notebook 01 into the output folder (so neither autosave nor the save below touches notebooks/),
// starts scripts/notebooks/jupyter.sh on 127.0.0.1 with MLA_SCALE=smoke and its own Jupyter config/data/runtime
// folders, and then:
//   1. runs the notebook's cells up to the first figure: the figure draws, the wide table shows its first
//      columns without wrapping the model names (screenshots 1-table.png, 1-figure.png);
//   2. reloads the page and reruns the figure cell: it draws again (2-after-reload.png);
//   3. opens the notebook in a second tab and reruns the figure cell there (3-second-tab.png);
//   4. saves the notebook, checks the saved file is small and holds no plotly.js bundle, reopens it and checks the
//      saved figure output draws by itself (4-reopened.png);
//   5. checks that figures/ and data/results/ are byte-identical to before (smoke outputs go to build/smoke/).
// Exit 0 when every check passed; the screenshots stay in the output folder either way.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..', '..');
const NOTEBOOK = '01-kv-cache.ipynb';
// Cells are found by what their text holds (every string of the list): the figure cell plots 'kv-cache-study'.
const FIGURE_CELL = ['await plot(', "name: 'kv-cache-study'"];
const TABLE_CELL = ["name: 'kv-cache-all'"];
// The largest a saved notebook 01 with outputs may be; the plotly.js bundle alone is 11 MB.
const MAX_SAVED_BYTES = 1_000_000;
const CELL_TIMEOUT_MS = 240_000;

function hashCommitted() {
  const out = {};
  for (const dir of ['figures', path.join('data', 'results')]) {
    for (const f of fs.readdirSync(path.join(ROOT, dir)).sort()) {
      const file = path.join(ROOT, dir, f);
      if (fs.statSync(file).isFile()) out[path.join(dir, f)] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    }
  }
  return out;
}

function get(url) {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on('error', () => resolve(0));
  });
}

async function waitForServer(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if ((await get(url)) === 200) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Jupyter did not answer at ${url} within ${ms / 1000} s (see jupyter.log in the output folder)`);
}

/** Waits until the page's notebook is loaded and its kernel connected, with autosave off. */
async function openNotebook(page, url) {
  await page.goto(url);
  await page.waitForFunction(
    () => window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected(),
    null,
    { timeout: 120_000 },
  );
  await page.evaluate(() => Jupyter.notebook.set_autosave_interval(0));
}

/** Runs the code cells up to and including the one whose source contains `marker`; returns its index. */
async function runThrough(page, marker, only = false) {
  const index = await page.evaluate(({ marker, only }) => {
    const cells = Jupyter.notebook.get_cells();
    const target = cells.findIndex((c) => c.cell_type === 'code' && marker.every((m) => c.get_text().includes(m)));
    if (target < 0) return -1;
    const indices = only ? [target] : cells.map((c, i) => i).filter((i) => i <= target && cells[i].cell_type === 'code');
    Jupyter.notebook.execute_cells(indices);
    return target;
  }, { marker, only });
  if (index < 0) throw new Error(`no code cell in ${NOTEBOOK} contains ${marker.join(' and ')}`);
  await page.waitForFunction(
    (i) => {
      const cell = Jupyter.notebook.get_cell(i);
      return cell.get_text() && cell.element.find('.input_prompt').text().match(/\[\d+\]/);
    },
    index,
    { timeout: CELL_TIMEOUT_MS },
  );
  return index;
}

/** The figure cell's state once it settles: drawn, or the text its figure div shows instead. */
async function figureState(page, index) {
  const state = (i) => {
    const div = Jupyter.notebook.get_cell(i).output_area.element[0].querySelector('div[id^="mla-plot-"]');
    return { drawn: Boolean(div && div.querySelector('.main-svg')), text: div ? div.textContent.trim() : '(no figure output)' };
  };
  await page.waitForFunction((i) => {
    const div = Jupyter.notebook.get_cell(i).output_area.element[0].querySelector('div[id^="mla-plot-"]');
    return div && (div.querySelector('.main-svg') || div.textContent.trim());
  }, index, { timeout: 60_000 }).catch(() => undefined);
  return page.evaluate(state, index);
}

async function shoot(page, index, file) {
  const cell = page.locator('.cell').nth(index);
  await cell.scrollIntoViewIfNeeded();
  await cell.screenshot({ path: file });
}

async function main(argv) {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string', default: '8899' }, out: { type: 'string', default: path.join(ROOT, 'build', 'browser-check') } } });
  const out = path.resolve(values.out);
  fs.rmSync(out, { recursive: true, force: true });
  const nbDir = path.join(out, 'notebooks');
  fs.mkdirSync(nbDir, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'notebooks', NOTEBOOK), path.join(nbDir, NOTEBOOK));

  const before = hashCommitted();
  const token = crypto.randomBytes(16).toString('hex');
  const base = `http://127.0.0.1:${values.port}`;
  const env = {
    ...process.env,
    MLA_SCALE: 'smoke',
    JUPYTER_CONFIG_DIR: path.join(out, 'jupyter', 'config'),
    JUPYTER_DATA_DIR: path.join(out, 'jupyter', 'data'),
    JUPYTER_RUNTIME_DIR: path.join(out, 'jupyter', 'runtime'),
  };
  delete env.MLA_ROOT;
  const log = fs.openSync(path.join(out, 'jupyter.log'), 'w');
  const server = spawn(
    'sh',
    [path.join(__dirname, 'jupyter.sh'), 'notebook', nbDir, '--allow-root', '--no-browser', `--port=${values.port}`, '--ip=127.0.0.1', `--NotebookApp.token=${token}`],
    { env, stdio: ['ignore', log, log] },
  );
  const { chromium } = require('playwright-core');
  const { CHROMIUM_FLAGS, chromiumPath } = require(path.join(ROOT, 'dist', 'lib', 'notebook', 'browser.js'));
  let context;
  const results = [];
  const check = (name, ok, detail) => {
    results.push({ name, ok, detail });
    console.log(`browser-check: ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
  };
  try {
    await waitForServer(`${base}/api/status?token=${token}`, 60_000);
    context = await chromium.launchPersistentContext(path.join(out, 'chromium-profile'), {
      executablePath: chromiumPath(),
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1400 },
    });
    // Loopback only: anything else the page asks for is refused.
    await context.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
    const url = `${base}/notebooks/${NOTEBOOK}?token=${token}`;
    const page = await context.newPage();
    await openNotebook(page, url);

    const tableCell = await runThrough(page, TABLE_CELL);
    const figureCell = await runThrough(page, FIGURE_CELL);
    let state = await figureState(page, figureCell);
    check('the figure draws on first run', state.drawn, state.drawn ? '' : state.text);
    const table = await page.evaluate((i) => {
      const out = Jupyter.notebook.get_cell(i).output_area.element[0];
      const heights = [...out.querySelectorAll('tbody tr')].map((tr) => tr.getBoundingClientRect().height);
      return { headers: [...out.querySelectorAll('th')].map((th) => th.textContent), lowest: Math.min(...heights), highest: Math.max(...heights) };
    }, tableCell);
    check('the wide table shows at most 10 columns, key columns first', table.headers.length <= 10 && table.headers[2] === 'elements_per_layer', table.headers.join(', '));
    check('every row is one line high', table.highest > 0 && table.highest < 1.5 * table.lowest, `rows ${table.lowest.toFixed(0)}–${table.highest.toFixed(0)} px high`);
    await shoot(page, tableCell, path.join(out, '1-table.png'));
    await shoot(page, figureCell, path.join(out, '1-figure.png'));

    await openNotebook(page, url);
    await runThrough(page, FIGURE_CELL, true);
    state = await figureState(page, figureCell);
    check('the figure draws after a reload', state.drawn, state.drawn ? '' : state.text);
    await shoot(page, figureCell, path.join(out, '2-after-reload.png'));

    const second = await context.newPage();
    await openNotebook(second, url);
    await runThrough(second, FIGURE_CELL, true);
    state = await figureState(second, figureCell);
    check('the figure draws in a second tab', state.drawn, state.drawn ? '' : state.text);
    await shoot(second, figureCell, path.join(out, '3-second-tab.png'));
    await second.close();

    await page.evaluate(() => Jupyter.notebook.save_notebook());
    await page.waitForFunction(() => !Jupyter.notebook.dirty, null, { timeout: 30_000 });
    const saved = fs.readFileSync(path.join(nbDir, NOTEBOOK), 'utf8');
    check('the saved notebook is small', saved.length < MAX_SAVED_BYTES, `${saved.length} bytes`);
    check('the saved notebook holds no plotly.js bundle', !saved.includes('plotly.js v'));
    await openNotebook(page, url);
    state = await figureState(page, figureCell);
    check('the saved figure output draws when the notebook is reopened', state.drawn, state.drawn ? '' : state.text);
    await shoot(page, figureCell, path.join(out, '4-reopened.png'));
  } catch (err) {
    check('the check ran to the end', false, err.message.split('\n')[0]);
  } finally {
    if (context) await context.close();
    server.kill('SIGTERM');
  }
  const after = hashCommitted();
  const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
  check('figures/ and data/results/ are unchanged', changed.length === 0, changed.join(', '));
  const smokeFigure = path.join(ROOT, 'build', 'smoke', 'figures', 'kv-cache-study.svg');
  check('the smoke-scale figure went to build/smoke/', fs.existsSync(smokeFigure));
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  const failed = results.filter((r) => !r.ok);
  console.log(`browser-check: ${failed.length === 0 ? 'all' : `${results.length - failed.length} of`} ${results.length} checks passed; screenshots in ${path.relative(process.cwd(), out)}`);
  return failed.length === 0 ? 0 : 1;
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));

module.exports = { NOTEBOOK, FIGURE_CELL, TABLE_CELL };
