// Where notebook helpers send what they show. Inside a tslab kernel that is tslab's display API; anywhere else
// (a script, a test) there is no notebook page, so HTML is dropped and a plain-text line printed instead.
// Helpers take a NotebookDisplay argument so tests can record what would have been shown.

/** One output area of a cell; `update` variants rewrite the same area in place. */
export interface DisplayArea {
  html(s: string): void;
  text(s: string): void;
}

export interface NotebookDisplay extends DisplayArea {
  /** A new output area whose later writes replace its earlier ones (a live chart, a progress line). */
  area(): DisplayArea;
  /** Whether HTML reaches a notebook page (false in scripts and tests, which get text only). */
  readonly rich: boolean;
}

/** The slice of tslab's public module used here (tslab/dist/public.d.ts). */
interface TslabModule {
  display: DisplayArea;
  newDisplay(): DisplayArea;
}

/**
 * True inside a tslab kernel: its executor sets `globalThis.__tslab__` before running the first cell, so this
 * test needs no tslab import (which loads a whole TypeScript compiler).
 */
export function insideTslab(): boolean {
  return (globalThis as { __tslab__?: unknown }).__tslab__ !== undefined;
}

let cached: NotebookDisplay | undefined;

/** tslab's display inside a kernel, else a console display. */
export function defaultDisplay(): NotebookDisplay {
  if (cached) return cached;
  cached = insideTslab() ? tslabDisplay() : consoleDisplay();
  return cached;
}

function tslabDisplay(): NotebookDisplay {
  // The same module instance tslab's executor hands to cells as require('tslab'): both resolve to
  // node_modules/tslab/dist/public.js, whose display writes to the cell that is running.
  const tslab = require('tslab') as TslabModule;
  return {
    rich: true,
    html: (s) => tslab.display.html(s),
    text: (s) => tslab.display.text(s),
    area: () => tslab.newDisplay(),
  };
}

/** Text only: HTML is not printed (it would be unreadable), callers pass a text alternative via text(). */
export function consoleDisplay(write: (line: string) => void = (l) => console.log(l)): NotebookDisplay {
  const area = (): DisplayArea => ({ html: () => undefined, text: (s) => write(s) });
  return { rich: false, ...area(), area };
}

/** Records everything shown, for tests. */
export interface RecordingDisplay extends NotebookDisplay {
  /** Every write in order; `area` is 0 for the cell itself, else the 1-based area number. */
  readonly writes: { area: number; kind: 'html' | 'text'; value: string }[];
}

export function recordingDisplay(rich = true): RecordingDisplay {
  const writes: RecordingDisplay['writes'] = [];
  let areas = 0;
  const at = (area: number): DisplayArea => ({
    html: (value) => writes.push({ area, kind: 'html', value }),
    text: (value) => writes.push({ area, kind: 'text', value }),
  });
  return { rich, writes, ...at(0), area: () => at(++areas) };
}
