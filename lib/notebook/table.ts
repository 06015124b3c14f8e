// showTable(): show an Arquero table in the notebook and save it as data/results/<name>.csv, so every table a
// notebook prints is also a file that other tools (and the headless runner's checks) can read. The page shows
// the columns that matter first and only so many of them; the CSV keeps every column in the table's order.
import * as path from 'node:path';
import type { ColumnTable } from 'arquero';
import { DataError } from '../data/errors';
import { NotebookDisplay, defaultDisplay } from './display';
import { checkOutputName, isSmokeScale, outputRoot, resultsDir, writeOutput } from './paths';
import { SMOKE_MARK } from './plotly';

/**
 * Columns moved right after the first one when a table has more columns than are shown: the results the study's
 * tables exist for (perplexities; KV cache sizes), which would otherwise sit past the right edge of the page.
 */
export const KEY_COLUMNS: readonly string[] = [
  'val_ppl', 'val_ppl_sd', 'train_ppl', 'train_ppl_sd', 'study_val_ppl', 'study_train_ppl',
  'mode', 'elements_per_layer', 'elements_all_layers', 'study_all_layers', 'published_per_layer', 'matches',
];

export interface ShowTableOptions {
  /** File name stem: data/results/<name>.csv. Letters, digits, '.', '_', '-'. */
  name: string;
  /** Rows shown in the notebook (default 100); the CSV always holds all of them. */
  limit?: number;
  /** Exactly the columns shown, in this order (default: see keyColumns and maxColumns). The CSV holds all. */
  columns?: readonly string[];
  /** Columns moved right after the first one, in this order, when not all columns are shown (default KEY_COLUMNS). */
  keyColumns?: readonly string[];
  /** Most columns shown when `columns` is not given (default 10); the note under the table names the others. */
  maxColumns?: number;
  /** Fraction digits shown for numbers (default 3); the CSV keeps full precision. */
  maxDigits?: number;
  /** A line shown above the table (e.g. what the columns mean, where a number comes from). */
  caption?: string;
  /** Say "smoke scale: proves nothing" under the table (default: when $MLA_SCALE is smoke); as plot()'s option. */
  smokeMark?: boolean;
  /** Project root the data/results/ folder is under (default: outputRoot(), which is build/smoke/ at smoke scale). */
  root?: string;
  /** Where the table is shown (default: the notebook when in tslab, else the console). */
  display?: NotebookDisplay;
}

export const DEFAULT_ROW_LIMIT = 100;
export const DEFAULT_MAX_COLUMNS = 10;

/**
 * Shows the table and writes data/results/<name>.csv (see tableFile()). Returns nothing, so a call as a cell's
 * last line prints nothing (tslab prints a last expression's value).
 */
export function showTable(table: ColumnTable, opts: ShowTableOptions): void {
  const name = checkOutputName(opts?.name, 'table');
  if (!table || typeof (table as Partial<ColumnTable>).toCSV !== 'function') {
    throw new DataError(`table '${name}' must be an Arquero table (from aq.table(), aq.from() or a verb on one)`);
  }
  const columns = shownColumns(table.columnNames(), opts, name);
  const file = writeOutput(tableFile(name, opts.root), table.toCSV() + '\n');
  const display = opts.display ?? defaultDisplay();
  const limit = opts.limit ?? DEFAULT_ROW_LIMIT;
  const note = tableNote(table, columns, limit, path.relative(process.cwd(), file), opts.smokeMark ?? isSmokeScale());
  const maxdigits = opts.maxDigits ?? 3;
  if (display.rich) {
    const caption = opts.caption ? `<p>${escapeHtml(opts.caption)}</p>` : '';
    // Cells stay on one line (model names would wrap at every '-'); a table wider than the page scrolls sideways.
    const cell = 'padding:2px 8px;white-space:nowrap;';
    const html = table.toHTML({ limit, columns, maxdigits, style: { table: 'border-collapse:collapse;font-size:90%;', th: cell, td: cell } });
    display.html(`${caption}<div style="overflow-x:auto;">${html}</div><p style="font-size:80%;color:#666;">${escapeHtml(note)}</p>`);
  } else {
    const caption = opts.caption ? `${opts.caption}\n` : '';
    display.text(`${caption}${table.toMarkdown({ limit, columns, maxdigits })}\n${name}: ${note}`);
  }
}

/**
 * The columns shown: `columns` as given; else every column in the table's order when they are no more than
 * maxColumns; else the first column (it names the row), the key columns present, then the rest, cut to maxColumns.
 */
export function shownColumns(names: readonly string[], opts: Pick<ShowTableOptions, 'columns' | 'keyColumns' | 'maxColumns'>, table = 'table'): string[] {
  if (opts.columns) {
    const unknown = opts.columns.filter((c) => !names.includes(c));
    if (unknown.length > 0 || opts.columns.length === 0) {
      throw new DataError(`table '${table}' has no column(s) ${JSON.stringify(unknown)} to show: pick from ${names.join(', ')}`);
    }
    return [...opts.columns];
  }
  const max = opts.maxColumns ?? DEFAULT_MAX_COLUMNS;
  if (!Number.isInteger(max) || max < 1) throw new DataError(`table '${table}' maxColumns ${max} must be a whole number ≥ 1`);
  if (names.length <= max) return [...names];
  const keys = (opts.keyColumns ?? KEY_COLUMNS).filter((c) => names.includes(c) && c !== names[0]);
  const ordered = [...names.slice(0, 1), ...keys, ...names.filter((c, i) => i > 0 && !keys.includes(c))];
  return ordered.slice(0, max);
}

/** The line under a table: rows and columns shown against those saved, and where the file is. */
function tableNote(table: ColumnTable, columns: readonly string[], limit: number, file: string, smoke: boolean): string {
  const rows = table.numRows();
  const hidden = table.columnNames().filter((c) => !columns.includes(c));
  const parts = [
    rows > limit ? `${rows} rows, first ${limit} shown` : `${rows} rows`,
    hidden.length > 0 ? `${hidden.length} more column${hidden.length > 1 ? 's' : ''} in the file (${hidden.join(', ')})` : '',
    `saved to ${file}`,
    smoke ? SMOKE_MARK : '',
  ];
  return parts.filter(Boolean).join('; ');
}

/** Where showTable() writes a table's CSV. */
export function tableFile(name: string, root: string = outputRoot()): string {
  return path.join(resultsDir(root), `${checkOutputName(name, 'table')}.csv`);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
