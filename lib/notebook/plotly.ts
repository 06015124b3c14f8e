// Plotly figures as HTML, offline: the plotly.js bundle from the plotly.js-dist package is inlined (in the
// notebook) or copied beside the figure files (standalone pages); nothing is fetched from a CDN.
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

let bundleText: string | undefined;

/** The bundle's source, read once per process (11 MB), made safe to sit inside a <script> element. */
export function plotlyBundleText(): string {
  // `</script` would end the element early; `<\/` means the same inside a JS string, regex or comment.
  bundleText ??= fs.readFileSync(plotlyBundle().file, 'utf8').replace(/<\/script/gi, '<\\/script');
  return bundleText;
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

/**
 * A div plus the script that draws the figure into it. When Plotly is missing from the page (the output that
 * carried the bundle was cleared, or the page was reloaded untrusted) the div says so instead of staying blank.
 */
export function figureDiv(figure: Figure, divId: string, size: { width: number; height: number }): string {
  const config = { responsive: true, displaylogo: false, ...(figure.config ?? {}) };
  return [
    `<div id="${escapeHtml(divId)}" style="width:100%;max-width:${size.width}px;height:${size.height}px;"></div>`,
    '<script>',
    '(function () {',
    `  var el = document.getElementById(${scriptJson(divId)});`,
    '  if (!window.Plotly) {',
    "    el.textContent = 'Plotly is not loaded on this page: re-run the notebook from the top (Kernel > Restart & Run All).';",
    '    return;',
    '  }',
    `  window.Plotly.newPlot(el, ${scriptJson(figure.data)}, ${scriptJson(figure.layout ?? {})}, ${scriptJson(config)});`,
    '})();',
    '</script>',
  ].join('\n');
}

/** The bundle as an inline script element (sets window.Plotly). */
export function inlineBundleScript(): string {
  return `<script>${plotlyBundleText()}</script>`;
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
