// plot(): show a Plotly figure in the notebook and save it as figures/<name>.html, .png and .svg.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderFigure } from './browser';
import { NotebookDisplay, defaultDisplay } from './display';
import { checkOutputName, figuresDir, isSmokeScale, outputRoot, projectRoot, writeOutput } from './paths';
import {
  Figure,
  NOTEBOOK_BUNDLE_DIR,
  checkFigure,
  figureDiv,
  figureSize,
  notebookBundleUrl,
  plotlyBundle,
  standaloneHtml,
  withSmokeMark,
} from './plotly';

export type FigureFormat = 'html' | 'png' | 'svg';
export const FIGURE_FORMATS: readonly FigureFormat[] = ['html', 'png', 'svg'];

export interface PlotOptions {
  /** File name stem: figures/<name>.html|png|svg. Letters, digits, '.', '_', '-'. */
  name: string;
  /** Size of the exported images (and of the page div); default: the layout's, else 900 × 500. */
  width?: number;
  height?: number;
  /** Which files to write (default all three). */
  formats?: readonly FigureFormat[];
  /** PNG pixel ratio (default 2). */
  pngScale?: number;
  /** Project root the figures/ folder is under (default: outputRoot(), which is build/smoke/ at smoke scale). */
  root?: string;
  /**
   * Mark the figure "smoke scale: proves nothing" in its title and across it (default: when $MLA_SCALE is smoke).
   * `false` for a figure that does not depend on the scale, such as computed cache sizes.
   */
  smokeMark?: boolean;
  /** Where the figure is shown (default: the notebook when in tslab, else the console). */
  display?: NotebookDisplay;
}

/** Paths of the files written, by format. */
export type PlotFiles = Partial<Record<FigureFormat, string>>;

let divCount = 0;

/**
 * Shows the figure and writes its files (figures/<name>.html|png|svg; see figureFiles()). Resolves to nothing,
 * so `await plot(...)` as a cell's last line prints nothing (tslab prints a last expression's value).
 * The standalone HTML loads plotly.js from a copy beside it (figures/plotly-<version>.js), and the notebook
 * output from the Jupyter server, so neither carries the 11 MB bundle.
 */
export async function plot(figure: Figure, opts: PlotOptions): Promise<void> {
  const name = checkOutputName(opts?.name, 'figure');
  checkFigure(figure, name);
  const marked = (opts.smokeMark ?? isSmokeScale()) ? withSmokeMark(figure) : figure;
  const formats = opts.formats ?? FIGURE_FORMATS;
  const size = figureSize(marked, { width: opts.width, height: opts.height });
  const dir = figuresDir(opts.root ?? outputRoot());
  const display = opts.display ?? defaultDisplay();

  const files: PlotFiles = {};
  if (formats.includes('html')) {
    const bundleName = copyBundle(dir);
    files.html = writeOutput(path.join(dir, `${name}.html`), standaloneHtml(sized(marked, opts), name, bundleName));
  }
  // Render one format at a time: the shared page draws one figure at a time anyway.
  for (const format of ['png', 'svg'] as const) {
    if (!formats.includes(format)) continue;
    const image = await renderFigure(marked, { format, ...size, scale: format === 'png' ? opts.pngScale ?? 2 : 1 });
    files[format] = writeOutput(path.join(dir, `${name}.${format}`), image);
  }

  show(display, marked, name, size, files);
}

/** Where plot() writes a figure's files. */
export function figureFiles(name: string, root: string = outputRoot(), formats: readonly FigureFormat[] = FIGURE_FORMATS): PlotFiles {
  const dir = figuresDir(root);
  return Object.fromEntries(formats.map((f) => [f, path.join(dir, `${checkOutputName(name, 'figure')}.${f}`)]));
}

/** The figure with explicit width/height when the caller asked for them, so the HTML page matches the images. */
function sized(figure: Figure, opts: PlotOptions): Figure {
  if (opts.width === undefined && opts.height === undefined) return figure;
  return { ...figure, layout: { ...(figure.layout ?? {}), ...figureSize(figure, opts) } };
}

function show(display: NotebookDisplay, figure: Figure, name: string, size: { width: number; height: number }, files: PlotFiles) {
  const list = Object.values(files).map((f) => path.relative(process.cwd(), f)).join(', ');
  if (!display.rich) {
    display.text(`figure ${name}: ${list || '(no files written)'}`);
    return;
  }
  const divId = `mla-plot-${name}-${process.pid}-${++divCount}`;
  display.html(figureDiv(figure, divId, size, notebookBundleUrl(serveBundle())));
}

/** Copies plotly.js beside the figure pages once per version; returns its file name. Setup calls it too, so the
 * committed HTML figures open offline in a fresh clone (the 11 MB bundle itself is not committed). */
export function copyBundle(dir: string = figuresDir(projectRoot())): string {
  const { file, version } = plotlyBundle();
  const fileName = `plotly-${version}.js`;
  const dest = path.join(dir, fileName);
  if (!fs.existsSync(dest) || fs.statSync(dest).size !== fs.statSync(file).size) {
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(file, dest);
  }
  return fileName;
}

/** The Jupyter data folder of this checkout (install-kernel.js writes the kernel spec there, jupyter.sh serves it). */
export const jupyterDataDir = (packageRoot: string = path.resolve(__dirname, '..', '..', '..')) =>
  path.join(packageRoot, '.jupyter-env', 'share', 'jupyter');

/**
 * Puts plotly.js where the project's Jupyter serves it (nbextensions/mla-lab/ under jupyterDataDir(), the URL the
 * notebook outputs load) and returns its version. Done by the kernel rather than at setup, so a checkout set up
 * before this existed needs no step; skipped when the kernel spec is not installed here (the output then says
 * the bundle could not be loaded, and how to start Jupyter).
 */
export function serveBundle(dataDir: string = jupyterDataDir()): string {
  const { version } = plotlyBundle();
  if (fs.existsSync(dataDir)) copyBundle(path.join(dataDir, 'nbextensions', NOTEBOOK_BUNDLE_DIR));
  return version;
}
