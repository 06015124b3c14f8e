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
import { SMOKE_MARK, notebookBundleUrl, plotlyBundle, withSmokeMark } from '../../lib/notebook/plotly';

const skip = fs.existsSync(chromiumPath()) ? false : `no Chromium at ${chromiumPath()} (apt-get install chromium, or set MLA_CHROMIUM)`;
after(() => closeBrowser());

const figure = (title: string) => ({
  data: [{ type: 'bar', name: 'kv', x: ['MHA', 'MLA', 'MQA'], y: [8192, 2856, 512] }],
  layout: { title: { text: title }, yaxis: { title: { text: 'elements per token' } } },
});

test('plot writes html, png and svg, and its notebook output loads plotly.js instead of carrying it', { skip }, async () => {
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

  // Every output is small and self-sufficient: the loader with the bundle's URL, never the bundle.
  assert.equal(display.writes.length, 2);
  for (const [i, w] of display.writes.entries()) {
    assert.ok(w.value.length < 20_000 && !w.value.includes('plotly.js v'), `output ${i} carries the bundle`);
    assert.ok(w.value.includes(notebookBundleUrl(plotlyBundle().version)), `output ${i} has no loader`);
    assert.match(w.value, /Plotly\.newPlot/);
  }
  assert.match(display.writes[1].value, /second figure/);
});

test('figure files are byte-identical across renders of the same data, in one browser and in a new one', { skip, timeout: 120_000 }, async () => {
  const render = async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-plot-'));
    const fig = { ...figure('same data'), layout: { ...figure('same data').layout, legend: { orientation: 'h', y: -0.3 } } };
    await plot(fig, { name: 'same', root, display: recordingDisplay(false), width: 500, height: 320 });
    const files = figureFiles('same', root);
    return Object.fromEntries(Object.entries(files).map(([f, file]) => [f, fs.readFileSync(file)]));
  };
  const first = await render();
  const again = await render(); // the same page: Plotly's state from the first figure must not show
  await closeBrowser();
  const fresh = await render();
  for (const format of ['svg', 'html', 'png']) {
    assert.ok(first[format].equals(again[format]), `${format} differs on a second render in the same page`);
    assert.ok(first[format].equals(fresh[format]), `${format} differs in a new browser`);
  }
  // Plotly's clip-path ids come from the seeded sequence, not from the clock or a real random source.
  assert.match(first.svg.toString('utf8'), /id="defs-[0-9a-f]+"/);
});

test('a smoke-scale figure says so in its title and across it; other scales and smokeMark: false do not', { skip, timeout: 120_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-plot-'));
  const cases: [string, string, boolean | undefined][] = [['smoke', 'at-smoke', undefined], ['small', 'at-small', undefined], ['smoke', 'unmarked', false]];
  const before = process.env.MLA_SCALE;
  try {
    for (const [scaleName, name, smokeMark] of cases) {
      process.env.MLA_SCALE = scaleName;
      await plot(figure('scaled'), { name, root, smokeMark, display: recordingDisplay(false), formats: ['svg', 'html'] });
    }
  } finally {
    if (before === undefined) delete process.env.MLA_SCALE;
    else process.env.MLA_SCALE = before;
  }
  const read = (name: string, f: 'svg' | 'html') => fs.readFileSync(figureFiles(name, root)[f]!, 'utf8');
  assert.ok(read('at-smoke', 'svg').includes(`scaled [${SMOKE_MARK}]`), 'title suffix');
  assert.ok(read('at-smoke', 'svg').includes(SMOKE_MARK.toUpperCase()), 'watermark');
  assert.ok(read('at-smoke', 'html').includes(SMOKE_MARK));
  for (const name of ['at-small', 'unmarked']) {
    assert.ok(!read(name, 'svg').toLowerCase().includes(SMOKE_MARK), name);
    assert.ok(!read(name, 'html').includes(SMOKE_MARK), name);
  }
});

test('withSmokeMark keeps the figure given and its annotations', () => {
  const fig = { data: [], layout: { title: { text: 'loss', x: 0.1 }, annotations: [{ text: 'note' }] } };
  const marked = withSmokeMark(fig);
  assert.deepEqual(fig.layout.annotations, [{ text: 'note' }]);
  assert.deepEqual(marked.layout!.title, { text: `loss [${SMOKE_MARK}]`, x: 0.1 });
  assert.equal((marked.layout!.annotations as unknown[]).length, 2);
  assert.equal((withSmokeMark({ data: [] }).layout!.title as { text: string }).text, `[${SMOKE_MARK}]`);
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
