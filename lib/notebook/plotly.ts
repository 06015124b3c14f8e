// Plotly figures as HTML, offline: the plotly.js bundle of the plotly.js-dist package is served by the project's
// Jupyter (notebook outputs) or copied beside the figure files (standalone pages); nothing comes from a CDN.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors';

/** A Plotly figure as plain data (the JSON Plotly.newPlot takes). */
export interface Figure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

export function checkFigure(figure: unknown, name: string): Figure {
  const f = figure as Figure | null;
  if (!f || typeof f !== 'object' || !Array.isArray(f.data)) {
    throw new DataError(`figure '${name}' must be an object with a 'data' array of traces (a Plotly figure)`);
  }
  return f;
}

/** Absolute path of plotly.js-dist's bundle and its version. */
export function plotlyBundle(): { file: string; version: string } {
  const pkgFile = require.resolve('plotly.js-dist/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { main?: string; version: string };
  return { file: path.join(path.dirname(pkgFile), pkg.main ?? 'plotly.js'), version: pkg.version };
}

/** JSON that is safe inside a <script> element (no `</script>` or `<!--` can appear in it). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Default size when the layout sets none; the PNG/SVG exports and the page use the same. */
export const DEFAULT_SIZE = { width: 900, height: 500 };

export function figureSize(figure: Figure, size: Partial<typeof DEFAULT_SIZE> = {}): { width: number; height: number } {
  const layout = figure.layout ?? {};
  const pick = (k: 'width' | 'height') =>
    size[k] ?? (typeof layout[k] === 'number' ? (layout[k] as number) : DEFAULT_SIZE[k]);
  return { width: pick('width'), height: pick('height') };
}

/** Where the notebook page finds plotly.js: Jupyter serves `nbextensions/` from every $JUPYTER_PATH folder, and
 * scripts/notebooks/jupyter.sh puts the project's .jupyter-env/share/jupyter first (plot() copies the bundle there). */
export const NOTEBOOK_BUNDLE_DIR = 'mla-lab';
export const notebookBundleUrl = (version: string) => `nbextensions/${NOTEBOOK_BUNDLE_DIR}/plotly-${version}.js`;

/**
 * A div plus the script that draws the figure into it. With `load`, the script first loads plotly.js from that
 * URL (relative to the Jupyter server's base URL) when the page has none — after a reload, in a second tab, in a
 * reopened notebook — with one load shared by all figures of the page; without it the page must carry the bundle
 * itself (the standalone HTML loads it in its head). The bundle is never part of the output, so a saved
 * notebook stays small.
 */
export function figureDiv(figure: Figure, divId: string, size: { width: number; height: number }, load?: string): string {
  const config = { responsive: true, displaylogo: false, ...(figure.config ?? {}) };
  return [
    `<div id="${escapeHtml(divId)}" style="width:100%;max-width:${size.width}px;height:${size.height}px;"></div>`,
    '<script>',
    '(function () {',
    `  var el = document.getElementById(${scriptJson(divId)});`,
    `  function draw() { window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(figure.layout ?? {})}, ${scriptJson(config)}); }`,
    '  if (window.Plotly) return draw();',
    load === undefined
      ? "  el.textContent = 'plotly.js is not loaded: its copy beside this page is missing (npm ci puts one in figures/).';"
      : loaderScript(load),
    '})();',
    '</script>',
  ].join('\n');
}

/** Loads plotly.js once per page (window.__mlaPlotly is the load in flight), then draws; says why on failure. */
function loaderScript(load: string): string {
  return [
    '  var w = window;',
    // Classic Notebook puts the server's base URL on <body>, JupyterLab in a JSON block.
    '  var lab = document.getElementById("jupyter-config-data");',
    '  var base = document.body.getAttribute("data-base-url") || (lab && JSON.parse(lab.textContent).baseUrl) || "/";',
    `  var src = base.replace(/\\/?$/, "/") + ${scriptJson(load)};`,
    '  w.__mlaPlotly = w.__mlaPlotly || new Promise(function (resolve, reject) {',
    '    var s = document.createElement("script");',
    '    s.src = src;',
    '    s.onload = function () { w.Plotly ? resolve() : reject(); };',
    '    s.onerror = function () { reject(); };',
    '    document.head.appendChild(s);',
    '  });',
    '  w.__mlaPlotly.then(draw, function () {',
    // Forget the failed load, so a rerun once the server is fixed tries again.
    '    w.__mlaPlotly = undefined;',
    "    el.textContent = 'plotly.js could not be loaded from ' + src + ': start Jupyter with scripts/notebooks/jupyter.sh (it serves the bundle), then rerun this cell.';",
    '  });',
  ].join('\n');
}

/** A complete page showing one figure; `bundleSrc` is the script URL of the bundle, relative to the page. */
export function standaloneHtml(figure: Figure, title: string, bundleSrc: string): string {
  const size = figureSize(figure);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<script src="${escapeHtml(bundleSrc)}"></script>`,
    '</head>',
    '<body style="margin:0;font-family:sans-serif;">',
    figureDiv(figure, 'figure', size),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** What a smoke-scale figure says on its face: tiny models on a few thousand tokens prove that the cells run,
 * nothing about attention. */
export const SMOKE_MARK = 'smoke scale: proves nothing';

/** The figure with SMOKE_MARK after its title and written faintly across the plot area (a copy; `figure` is kept). */
export function withSmokeMark(figure: Figure): Figure {
  const layout = figure.layout ?? {};
  const title = layout.title;
  const titleObject = title && typeof title === 'object' ? (title as Record<string, unknown>) : {};
  const text = typeof title === 'string' ? title : typeof titleObject.text === 'string' ? titleObject.text : '';
  const watermark = {
    name: 'smoke-mark',
    text: SMOKE_MARK.toUpperCase(),
    xref: 'paper',
    yref: 'paper',
    x: 0.5,
    y: 0.5,
    showarrow: false,
    textangle: -15,
    font: { size: 40, color: 'rgba(214, 39, 40, 0.25)' },
  };
  const annotations = Array.isArray(layout.annotations) ? layout.annotations : [];
  return {
    ...figure,
    layout: { ...layout, title: { ...titleObject, text: text ? `${text} [${SMOKE_MARK}]` : `[${SMOKE_MARK}]` }, annotations: [...annotations, watermark] },
  };
}
