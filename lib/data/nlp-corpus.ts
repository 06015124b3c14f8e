// The `nlp-corpus` package: 100 JSON files (builds/doc-<i>.json), each an array of 1,000 unrelated English
// sentences from many sources (fiction, transcripts, UN documents, SMS, reviews). The sentences carry no
// document structure, so consecutive runs of SENTENCES_PER_DOCUMENT sentences of one file form a "document";
// each sentence is one line of it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SourceDocument } from './brown';
import { normalizeDocument } from './documents';
import { DataError } from './errors';

export const SENTENCES_PER_DOCUMENT = 50;

export function nlpCorpusDir(): string {
  try {
    // The package exports only its entry point (src/server/index.js), two levels below the package root.
    return path.resolve(path.dirname(require.resolve('nlp-corpus')), '..', '..');
  } catch {
    throw new DataError("the npm package 'nlp-corpus' is not installed; run `npm ci` in the repository root");
  }
}

/** Every block of sentences, files in numeric order, id 'nlp-corpus/doc-<i>/<block>'. */
export function readNlpCorpusDocuments(dir: string = nlpCorpusDir()): SourceDocument[] {
  const buildDir = path.join(dir, 'builds');
  const files = fs.existsSync(buildDir) ? fs.readdirSync(buildDir).filter((f) => /^doc-\d+\.json$/.test(f)) : [];
  if (files.length === 0) throw new DataError(`no builds/doc-<i>.json files in ${dir}; reinstall the npm package 'nlp-corpus'`);
  files.sort((a, b) => parseInt(a.slice(4), 10) - parseInt(b.slice(4), 10));
  const docs: SourceDocument[] = [];
  for (const f of files) {
    const file = path.join(buildDir, f);
    const sentences: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(sentences) || !sentences.every((s) => typeof s === 'string')) {
      throw new DataError(`${file} is not a JSON array of strings; reinstall the npm package 'nlp-corpus'`);
    }
    for (let b = 0; b * SENTENCES_PER_DOCUMENT < sentences.length; b++) {
      const block = (sentences as string[]).slice(b * SENTENCES_PER_DOCUMENT, (b + 1) * SENTENCES_PER_DOCUMENT);
      const text = normalizeDocument(block.map((s) => normalizeDocument(s)).join('\n'));
      if (text) docs.push({ id: `nlp-corpus/${f.replace(/\.json$/, '')}/${b}`, text });
    }
  }
  return docs;
}
