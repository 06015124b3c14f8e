// showTable(): show an Arquero table in the notebook and save it as data/results/<name>.csv, so every table a
// notebook prints is also a file that other tools (and the headless runner's checks) can read.
import * as path from 'node:path';
import type { ColumnTable } from 'arquero';
import { DataError } from '../data/errors';
import { NotebookDisplay, defaultDisplay } from './display';
import { checkOutputName, projectRoot, resultsDir, writeOutput } from './paths';

export interface ShowTableOptions {
  /** File name stem: data/results/<name>.csv. Letters, digits, '.', '_', '-'. */
  name: string;
  /** Rows shown in the notebook (default 100); the CSV always holds all of them. */
  limit?: number;
  /** Fraction digits shown for numbers (default 3); the CSV keeps full precision. */
  maxDigits?: number;
  /** A line shown above the table (e.g. what the columns mean, where a number comes from). */
  caption?: string;
  /** Project root the data/results/ folder is under (default: projectRoot()). */
  root?: string;
  /** Where the table is shown (default: the notebook when in tslab, else the console). */
  display?: NotebookDisplay;
}

/**
 * Shows the table and writes data/results/<name>.csv (see tableFile()). Returns nothing, so a call as a cell's
 * last line prints nothing (tslab prints a last expression's value).
 */
export function showTable(table: ColumnTable, opts: ShowTableOptions): void {
  const name = checkOutputName(opts?.name, 'table');
  if (!table || typeof (table as Partial<ColumnTable>).toCSV !== 'function') {
    throw new DataError(`table '${name}' must be an Arquero table (from aq.table(), aq.from() or a verb on one)`);
  }
  const file = writeOutput(tableFile(name, opts.root), table.toCSV() + '\n');
  const display = opts.display ?? defaultDisplay();
  const limit = opts.limit ?? 100;
  const rows = table.numRows();
  const more = rows > limit ? ` (first ${limit} shown)` : '';
  const where = `${rows} rows${more}, saved to ${path.relative(process.cwd(), file)}`;
  if (display.rich) {
    const caption = opts.caption ? `<p>${escapeHtml(opts.caption)}</p>` : '';
    const html = table.toHTML({
      limit,
      maxdigits: opts.maxDigits ?? 3,
      style: { table: 'border-collapse:collapse;font-size:90%;', th: 'padding:2px 8px;', td: 'padding:2px 8px;' },
    });
    display.html(`${caption}${html}<p style="font-size:80%;color:#666;">${escapeHtml(where)}</p>`);
  } else {
    const caption = opts.caption ? `${opts.caption}\n` : '';
    display.text(`${caption}${table.toMarkdown({ limit, maxdigits: opts.maxDigits ?? 3 })}\n${name}: ${where}`);
  }
}

/** Where showTable() writes a table's CSV. */
export function tableFile(name: string, root: string = projectRoot()): string {
  return path.join(resultsDir(root), `${checkOutputName(name, 'table')}.csv`);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
