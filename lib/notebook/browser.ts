// PNG and SVG exports drawn by a real headless browser: Debian's Chromium driven by playwright-core, with
// Plotly.toImage run in a page that has the bundle loaded. One browser and one page serve the whole process,
// because starting Chromium takes about a second and initialising plotly.js in a page several more.
// The page is served from a made-up origin by request interception, and every other request is refused, so a
// figure can never reach the network.
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { BackendError } from '../backend/errors';
import { insideTslab } from './display';
import { Figure, plotlyBundle } from './plotly';
import { type Env, notebookSettingsFromEnv, processEnv } from '../settings';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, offline, sandbox-free Chromium (containers and CI give no user namespaces). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const ORIGIN = 'http://mla-lab.invalid';
const RANDOM_SEED = 20240601;

export interface RenderOptions {
  format: 'png' | 'svg';
  width: number;
  height: number;
  /** PNG pixel ratio (2 gives a sharp image on high-density screens and in papers). */
  scale?: number;
}

interface Renderer {
  browser: Browser;
  page: Page;
}

let starting: Promise<Renderer> | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let queue: Promise<unknown> = Promise.resolve();

/**
 * How long an unused browser stays open. A script exits only once it is closed, so scripts close it soon; a
 * notebook kernel keeps it longer so the next figure does not pay the start-up again (Chromium exits with the
 * kernel process either way: it quits when its pipe to the parent closes).
 */
export function idleCloseMs(): number {
  return insideTslab() ? 10 * 60_000 : 20_000;
}

/** $MLA_CHROMIUM, else Debian's Chromium. */
export function chromiumPath(env: Env = processEnv()): string {
  return notebookSettingsFromEnv(env).chromium ?? DEFAULT_CHROMIUM;
}

async function start(): Promise<Renderer> {
  const executablePath = chromiumPath();
  if (!fs.existsSync(executablePath)) {
    throw new BackendError(
      `no Chromium at ${executablePath} to render figures: install it (Debian: apt-get install chromium) ` +
        'or set MLA_CHROMIUM to a Chromium/Chrome binary',
    );
  }
  // Loaded on first use: most notebook helpers never need it.
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
  } catch (err) {
    throw new BackendError(`could not start Chromium (${executablePath}) to render figures: ${(err as Error).message}`);
  }
  const page = await browser.newPage();
  const bundle = plotlyBundle();
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (url === `${ORIGIN}/`) {
      await route.fulfill({ contentType: 'text/html', body: '<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>' });
    } else if (url === `${ORIGIN}/plotly.js`) {
      await route.fulfill({ contentType: 'text/javascript', path: bundle.file });
    } else {
      await route.abort();
    }
  });
  await page.goto(`${ORIGIN}/`);
  await page.addScriptTag({ url: `${ORIGIN}/plotly.js` });
  return { browser, page };
}

function renderer(): Promise<Renderer> {
  starting ??= start().catch((err) => {
    starting = undefined; // let a later call retry, e.g. after installing Chromium
    throw err;
  });
  return starting;
}

function armIdleClose(): void {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => void closeBrowser(), idleCloseMs());
  idleTimer.unref();
}

/** Renders one figure; calls are queued so the page draws one figure at a time. */
export function renderFigure(figure: Figure, opts: RenderOptions): Promise<Buffer | string> {
  const job = queue.then(async () => {
    if (idleTimer) clearTimeout(idleTimer);
    const { page } = await renderer();
    try {
      const url = await page.evaluate(
        ([fig, o, seed]) => {
          // Plotly names its SVG clip paths and defs with Math.random (fullLayout._uid, trace uids): a fixed
          // sequence, restarted for every figure, makes the same figure the same bytes, so a rerun leaves git clean.
          let state = seed >>> 0;
          Math.random = () => {
            // mulberry32: enough for ids, and the page draws nothing else.
            state = (state + 0x6d2b79f5) >>> 0;
            let t = state;
            t = Math.imul(t ^ (t >>> 15), t | 1);
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
            return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
          };
          const plotly = (globalThis as unknown as { Plotly: { toImage(f: unknown, o: unknown): Promise<string> } }).Plotly;
          return plotly.toImage(fig, o);
        },
        [figure, { format: opts.format, width: opts.width, height: opts.height, scale: opts.scale ?? 1 }, RANDOM_SEED] as const,
      );
      const image = decodeDataUrl(url, opts.format);
      return typeof image === 'string' ? sortSvgAttributes(image) : image;
    } finally {
      armIdleClose();
    }
  });
  queue = job.catch(() => undefined);
  return job;
}

/** Plotly.toImage answers with a data: URL — base64 for PNG, percent-encoded text for SVG. */
export function decodeDataUrl(url: string, format: 'png' | 'svg'): Buffer | string {
  const comma = url.indexOf(',');
  const head = url.slice(0, comma);
  const body = url.slice(comma + 1);
  const want = format === 'png' ? 'data:image/png' : 'data:image/svg+xml';
  if (comma < 0 || !head.startsWith(want)) {
    throw new BackendError(`Plotly.toImage returned ${JSON.stringify(url.slice(0, 40))}, expected a ${want} URL`);
  }
  if (head.endsWith(';base64')) {
    const bytes = Buffer.from(body, 'base64');
    return format === 'png' ? bytes : bytes.toString('utf8');
  }
  return decodeURIComponent(body);
}

// A start tag of XMLSerializer output (attribute values double-quoted, `<` and `"` escaped inside them) and its
// attributes.
const START_TAG = /<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")+)(\s*\/?)>/g;
const ATTRIBUTE = /\s+([\w:.-]+)="([^"]*)"/g;

/**
 * The SVG with every element's attributes in name order. Plotly sets some attributes in a different order on a
 * page's first figure than on later ones (the legend background, its scroll bar), so without this the same
 * figure would come out in different bytes depending on what the kernel drew before it.
 */
export function sortSvgAttributes(svg: string): string {
  return svg.replace(START_TAG, (_tag, name: string, attrs: string, end: string) => {
    const sorted = [...attrs.matchAll(ATTRIBUTE)].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    return `<${name}${sorted.map((m) => ` ${m[1]}="${m[2]}"`).join('')}${end}>`;
  });
}

/** Closes the shared browser (the next render starts a new one). Safe to call when none is open. */
export async function closeBrowser(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = undefined;
  const pending = starting;
  starting = undefined;
  if (!pending) return;
  try {
    const { browser } = await pending;
    await browser.close();
  } catch {
    // It failed to start or is already gone: nothing to close.
  }
}
