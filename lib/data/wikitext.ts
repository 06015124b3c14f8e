// WikiText-2 / WikiText-103 from a local folder, in either layout of the original release:
//   tokenized (wikitext-103-v1, what the study trained on): wiki.train.tokens, wiki.valid.tokens, wiki.test.tokens
//   raw (wikitext-103-raw-v1):                              wiki.train.raw,    wiki.valid.raw,    wiki.test.raw
// Both hold one paragraph per line; " = Title = " lines start articles, " = = Section = = " lines start sections.
// The tokenized layout writes "@-@", "@,@", "@.@" for in-word hyphens and number separators and "<unk>" for
// rare words; they are kept verbatim, as the study's tokenizer saw them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { normalizeDocument } from './documents';
import { DataError } from './errors';
import type { SplitName } from './split';

export type WikiTextName = 'wikitext103' | 'wikitext2';
export type WikiTextLayout = 'tokens' | 'raw';

export interface WikiTextFiles {
  name: WikiTextName;
  layout: WikiTextLayout;
  /** The folder the files were found in (the named folder or its wikitext-* subfolder). */
  dir: string;
  files: Record<SplitName, string>;
}

const SPLIT_FILE_STEM: Record<SplitName, string> = { train: 'wiki.train', val: 'wiki.valid', test: 'wiki.test' };

const HF_CONFIG: Record<WikiTextName, Record<WikiTextLayout, string>> = {
  wikitext103: { tokens: 'wikitext-103-v1', raw: 'wikitext-103-raw-v1' },
  wikitext2: { tokens: 'wikitext-2-v1', raw: 'wikitext-2-raw-v1' },
};

// The release zips unpack into these subfolders; a user may name the folder above them.
const SUBFOLDERS: Record<WikiTextName, string[]> = {
  wikitext103: ['wikitext-103', 'wikitext-103-raw', 'wikitext-103-v1', 'wikitext-103-raw-v1'],
  wikitext2: ['wikitext-2', 'wikitext-2-raw', 'wikitext-2-v1', 'wikitext-2-raw-v1'],
};

export function whereToGet(name: WikiTextName): string {
  const c = HF_CONFIG[name];
  return (
    `get it from the HuggingFace dataset 'Salesforce/wikitext', config '${c.tokens}' (or '${c.raw}' for the raw layout): ` +
    `write the 'text' column of its train/validation/test splits, rows concatenated, to wiki.train.tokens, ` +
    `wiki.valid.tokens and wiki.test.tokens (or wiki.*.raw); the original ${name === 'wikitext103' ? 'wikitext-103-v1' : 'wikitext-2-v1'}.zip unpacks to the same names`
  );
}

function layoutFiles(dir: string, layout: WikiTextLayout): Record<SplitName, string> {
  const ext = layout === 'tokens' ? '.tokens' : '.raw';
  return {
    train: path.join(dir, SPLIT_FILE_STEM.train + ext),
    val: path.join(dir, SPLIT_FILE_STEM.val + ext),
    test: path.join(dir, SPLIT_FILE_STEM.test + ext),
  };
}

/** Finds the three split files in `dir` (or one of its wikitext-* subfolders), preferring the tokenized layout,
 * and throws DataError naming the missing files and where to get them. */
export function locateWikiText(name: WikiTextName, dir: string): WikiTextFiles {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new DataError(`${name}: folder ${dir} does not exist; it should hold wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens — ${whereToGet(name)}`);
  }
  const candidates = [dir, ...SUBFOLDERS[name].map((s) => path.join(dir, s)).filter((d) => fs.existsSync(d))];
  let partial: { files: Record<SplitName, string>; missing: string[] } | undefined;
  for (const d of candidates) {
    for (const layout of ['tokens', 'raw'] as const) {
      const files = layoutFiles(d, layout);
      const missing = Object.values(files).filter((f) => !fs.existsSync(f));
      if (missing.length === 0) return { name, layout, dir: d, files };
      if (missing.length < 3 && !partial) partial = { files, missing };
    }
  }
  if (partial) {
    throw new DataError(`${name}: missing ${partial.missing.join(', ')} (the other split files are there); ${whereToGet(name)}`);
  }
  throw new DataError(
    `${name}: no WikiText files in ${dir}: expected ${Object.values(layoutFiles(dir, 'tokens')).join(', ')} ` +
      `(or the .raw layout); ${whereToGet(name)}`,
  );
}

/** True for a top-level article heading " = Title = " (not a section " = = Title = = "). */
export function isArticleHeading(line: string): boolean {
  const t = line.trim();
  return t.length >= 5 && t.startsWith('= ') && t.endsWith(' =') && !t.startsWith('= =');
}

function checkNotBinary(file: string, name: WikiTextName): void {
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(4096);
  const n = fs.readSync(fd, head, 0, head.length, 0);
  fs.closeSync(fd);
  if (n === 0) throw new DataError(`${file} is empty; expected WikiText text — ${whereToGet(name)}`);
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') {
    throw new DataError(`${file} is a Parquet file, not WikiText text; write its 'text' column out as plain text — ${whereToGet(name)}`);
  }
  if (head.subarray(0, n).includes(0)) throw new DataError(`${file} is binary (it holds NUL bytes), not WikiText text — ${whereToGet(name)}`);
}

/** Streams the articles of one WikiText file, each normalised into one document (heading line first, one line
 * per paragraph or section heading, blank lines dropped). Throws DataError if the file is not in the layout. */
export async function* readWikiTextArticles(file: string, name: WikiTextName): AsyncGenerator<string> {
  checkNotBinary(file, name);
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 22 }), crlfDelay: Infinity });
  let lines: string[] = [];
  let lineNo = 0;
  let articles = 0;
  for await (const line of rl) {
    lineNo++;
    if (isArticleHeading(line)) {
      if (lines.length) {
        const doc = normalizeDocument(lines.map((l) => l.trim()).join('\n'));
        if (doc) yield doc;
      }
      lines = [line];
      articles++;
    } else if (line.trim()) {
      if (articles === 0) {
        throw new DataError(
          `${file}:${lineNo}: text before the first article heading; a WikiText file starts with a ' = Title = ' line — ${whereToGet(name)}`,
        );
      }
      lines.push(line);
    }
  }
  if (articles === 0) throw new DataError(`${file} has no article headings (' = Title = ' lines); it is not a WikiText file — ${whereToGet(name)}`);
  const doc = normalizeDocument(lines.map((l) => l.trim()).join('\n'));
  if (doc) yield doc;
}

/** Sizes and times of the source files: a change means the corpus is rebuilt. */
export function wikiTextSource(w: WikiTextFiles): Record<string, unknown> {
  const files: Record<string, { path: string; size: number; mtimeMs: number }> = {};
  for (const [split, f] of Object.entries(w.files)) {
    const st = fs.statSync(f);
    files[split] = { path: f, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
  }
  return { layout: w.layout, dir: w.dir, files };
}
