// The figure a notebook shows: a small output that loads plotly.js from the Jupyter server when the page has
// none, so it draws after a reload or in a second tab, and a saved notebook never holds the 11 MB bundle.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { CHROMIUM_FLAGS, chromiumPath, closeBrowser } from '../../lib/notebook/browser';
import { recordingDisplay } from '../../lib/notebook/display';
import { plot, serveBundle } from '../../lib/notebook/plot';
import { NOTEBOOK_BUNDLE_DIR, figureDiv, notebookBundleUrl, plotlyBundle } from '../../lib/notebook/plotly';

const skip = fs.existsSync(chromiumPath()) ? false : `no Chromium at ${chromiumPath()} (apt-get install chromium, or set MLA_CHROMIUM)`;
after(() => closeBrowser());

const ORIGIN = 'http://notebook.invalid';
const { version, file: bundleFile } = plotlyBundle();
const figure = (title: string) => ({ data: [{ type: 'bar', x: ['MHA', 'MLA'], y: [8192, 2856] }], layout: { title: { text: title } } });

test('a figure output holds the loader and the figure, not the bundle', async () => {
  const display = recordingDisplay(true);
  await plot(figure('small output'), { name: 'x', display, formats: [] });
  const html = display.writes[0].value;
  assert.ok(html.length < 5_000, `output is ${html.length} characters`);
  assert.ok(!html.includes('plotly.js v'));
  assert.ok(html.includes(JSON.stringify(notebookBundleUrl(version))));
  assert.match(html, /w\.__mlaPlotly = w\.__mlaPlotly \|\| new Promise/);
  assert.match(html, /small output/);
});

test('serveBundle copies plotly.js to where Jupyter serves nbextensions, only where the kernel spec lives', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-jupyter-'));
  assert.equal(serveBundle(dataDir), version);
  const copy = path.join(dataDir, 'nbextensions', NOTEBOOK_BUNDLE_DIR, `plotly-${version}.js`);
  assert.equal(fs.statSync(copy).size, fs.statSync(bundleFile).size);
  const missing = path.join(dataDir, 'not-there');
  serveBundle(missing);
  assert.ok(!fs.existsSync(missing));
});

/** A page like Jupyter's (base URL on <body>) that serves the bundle when `serve`, counting the requests. */
async function notebookPage(page: Page, serve: boolean): Promise<{ loads: () => number }> {
  let loads = 0;
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/base/notebooks/x.ipynb`) {
      await route.fulfill({ contentType: 'text/html', body: '<!doctype html><html><head></head><body data-base-url="/base/"></body></html>' });
    } else if (url === `${ORIGIN}/base/${notebookBundleUrl(version)}` && serve) {
      loads++;
      await route.fulfill({ contentType: 'text/javascript', path: bundleFile });
    } else {
      await route.fulfill({ status: 404, body: 'not found' });
    }
  });
  await page.goto(`${ORIGIN}/base/notebooks/x.ipynb`);
  return { loads: () => loads };
}

/** Appends outputs the way the classic Notebook does (jQuery's html(): the scripts run). */
function showOutputs(page: Page, outputs: string[]): Promise<void> {
  return page.evaluate((list) => {
    for (const html of list) {
      const area = document.createElement('div');
      area.innerHTML = html;
      document.body.appendChild(area);
      for (const old of Array.from(area.querySelectorAll('script'))) {
        const s = document.createElement('script');
        s.textContent = old.textContent;
        old.replaceWith(s);
      }
    }
  }, outputs);
}

test('on a page without plotly.js, figures load it once from the server and draw', { skip, timeout: 120_000 }, async () => {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    const served = await notebookPage(page, true);
    const size = { width: 400, height: 300 };
    await showOutputs(page, [figureDiv(figure('one'), 'a', size, notebookBundleUrl(version)), figureDiv(figure('two'), 'b', size, notebookBundleUrl(version))]);
    await page.waitForSelector('#a .main-svg', { timeout: 60_000 });
    await page.waitForSelector('#b .main-svg', { timeout: 60_000 });
    assert.equal(served.loads(), 1);
    // Once loaded, a later figure draws at once.
    await showOutputs(page, [figureDiv(figure('three'), 'c', size, notebookBundleUrl(version))]);
    await page.waitForSelector('#c .main-svg', { timeout: 10_000 });
    assert.equal(served.loads(), 1);

    const broken = await browser.newPage();
    await notebookPage(broken, false);
    await showOutputs(broken, [figureDiv(figure('lost'), 'd', size, notebookBundleUrl(version))]);
    await broken.waitForFunction(() => (document.getElementById('d')?.textContent ?? '').length > 0);
    assert.match(await broken.textContent('#d') ?? '', /could not be loaded from \/base\/nbextensions\/mla-lab\/plotly-.*scripts\/notebooks\/jupyter\.sh/);
  } finally {
    await browser.close();
  }
});
