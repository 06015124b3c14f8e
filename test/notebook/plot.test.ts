// Real rendering: Debian's Chromium draws the PNG/SVG exports, and the standalone HTML is opened offline in it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHROMIUM_FLAGS, chromiumPath, closeBrowser } from '../../lib/notebook/browser';
import { recordingDisplay } from '../../lib/notebook/display';
import { figureFiles, plot } from '../../lib/notebook/plot';
import { plotlyBundle } from '../../lib/notebook/plotly';

const skip = fs.existsSync(chromiumPath()) ? false : `no Chromium at ${chromiumPath()} (apt-get install chromium, or set MLA_CHROMIUM)`;
after(() => closeBrowser());

const figure = (title: string) => ({
  data: [{ type: 'bar', name: 'kv', x: ['MHA', 'MLA', 'MQA'], y: [8192, 2856, 512] }],
  layout: { title: { text: title }, yaxis: { title: { text: 'elements per token' } } },
});

test('plot writes html, png and svg, and inlines plotly.js only with the first figure', { skip }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-plot-'));
  const display = recordingDisplay(true);
  await plot(figure('first figure'), { name: 'first', root, display, width: 400, height: 300 });
  await plot(figure('second figure'), { name: 'second', root, display, formats: ['svg'] });

  const files = figureFiles('first', root);
  const png = fs.readFileSync(files.png!);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // IHDR width and height: the requested size at the default pixel ratio 2.
  assert.equal(png.readUInt32BE(16), 800);
  assert.equal(png.readUInt32BE(20), 600);
  const svg = fs.readFileSync(files.svg!, 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /first figure/);
  assert.match(svg, /elements per token/);

  const html = fs.readFileSync(files.html!, 'utf8');
  const bundleName = `plotly-${plotlyBundle().version}.js`;
  assert.ok(html.includes(`<script src="${bundleName}">`));
  assert.ok(fs.existsSync(path.join(root, 'figures', bundleName)));
  // Only the formats asked for.
  assert.ok(fs.existsSync(figureFiles('second', root).svg!));
  assert.ok(!fs.existsSync(figureFiles('second', root).png!));
  assert.ok(!fs.existsSync(figureFiles('second', root).html!));

  assert.equal(display.writes.length, 2);
  const [a, b] = display.writes.map((w) => w.value);
  assert.ok(a.length > 1_000_000 && a.includes('plotly.js v'), 'the first figure carries the bundle');
  assert.ok(b.length < 10_000 && !b.includes('plotly.js v'), 'the second does not');
  assert.match(a, /Plotly\.newPlot/);
  assert.match(b, /second figure/);
});

test('the standalone HTML draws the figure offline', { skip }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-plot-'));
  await plot(figure('offline figure'), { name: 'offline', root, display: recordingDisplay(false), formats: ['html'] });
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    const remote: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      remote.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(figureFiles('offline', root).html!).href);
    await page.waitForSelector('#figure .main-svg', { timeout: 60_000 });
    assert.match(await page.textContent('#figure') ?? '', /offline figure/);
    assert.deepEqual(remote, []);
  } finally {
    await browser.close();
  }
});

test('bad figures and names are refused before anything is written', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-plot-'));
  const display = recordingDisplay(true);
  await assert.rejects(plot({ layout: {} } as never, { name: 'x', root, display }), /must be an object with a 'data' array/);
  await assert.rejects(plot(figure('x'), { name: '../x', root, display }), { name: 'DataError' });
  assert.deepEqual(fs.readdirSync(root), []);
  assert.equal(display.writes.length, 0);
});
