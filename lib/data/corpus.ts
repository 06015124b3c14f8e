// Building and reusing a corpus folder: data/corpora/<dataset>/{train,val,test}.txt (see documents.ts for the
// format) plus manifest.json with document/byte/char counts and content hashes. Built once; later runs check the
// manifest and reuse the files unless they are missing, were edited (hash mismatch), or the source changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../checkpoint/atomic';
import { DocumentWriter } from './documents';
import { EMBEDDED_BUILDER, embeddedDocuments, embeddedSource } from './embedded';
import { DataError } from './errors';
import { combineHashes, sha256File } from './hash';
import { DataSpec, DatasetName, formatDataSpec } from './spec';
import { DEFAULT_SPLIT_SEED, SPLITS, SplitName } from './split';
import { locateWikiText, readWikiTextArticles, wikiTextSource } from './wikitext';

export const WIKITEXT_BUILDER = 'wikitext-v1';

export interface SplitFileStats {
  /** File name inside the corpus folder. */
  file: string;
  documents: number;
  /** UTF-8 bytes of the file. */
  bytes: number;
  /** Unicode code points of the file. */
  chars: number;
  sha256: string;
  /** Modification time when last hashed: an unchanged file is not hashed again. */
  mtimeMs: number;
}

export interface CorpusManifest {
  format: 1;
  dataset: DatasetName;
  spec: string;
  /** Version of the code that wrote the files; another version means rebuild. */
  builder: string;
  /** How documents are separated in the split files. */
  separator: 'blank line ("\\n\\n"); documents contain no blank lines';
  /** What the text was made from (package versions and split seed, or WikiText file fingerprints). */
  source: Record<string, unknown>;
  /** sha256 over the three files' sha256 (see hash.ts combineHashes). */
  corpusHash: string;
  splits: Record<SplitName, SplitFileStats>;
  buildSeconds: number;
}

export interface Corpus {
  name: DatasetName;
  dir: string;
  manifest: CorpusManifest;
  corpusHash: string;
  files: Record<SplitName, string>;
}

export type CorpusStatus = { state: 'ok'; corpus: Corpus } | { state: 'missing' | 'stale'; dir: string; reason: string };

export function corpusDir(root: string, name: DatasetName): string {
  return path.join(root, 'corpora', name);
}

function builderOf(spec: DataSpec): string {
  return spec.kind === 'embedded' ? EMBEDDED_BUILDER : WIKITEXT_BUILDER;
}

function sourceOf(spec: DataSpec): Record<string, unknown> {
  return spec.kind === 'embedded' ? embeddedSource() : wikiTextSource(locateWikiText(spec.name, spec.dir));
}

function readManifest(file: string): CorpusManifest | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as CorpusManifest;
  } catch {
    return undefined;
  }
}

/** Checks an existing corpus folder against its manifest and the current source, without building anything.
 * Files whose size and mtime match the manifest are trusted; others are re-hashed. */
export async function inspectCorpus(spec: DataSpec, root: string): Promise<CorpusStatus> {
  const dir = corpusDir(root, spec.name);
  const manifestFile = path.join(dir, 'manifest.json');
  const m = readManifest(manifestFile);
  if (!m) return { state: 'missing', dir, reason: `no ${manifestFile}` };
  if (m.format !== 1 || m.builder !== builderOf(spec)) return { state: 'stale', dir, reason: `built by ${m.builder}, current builder is ${builderOf(spec)}` };
  if (JSON.stringify(m.source) !== JSON.stringify(sourceOf(spec))) return { state: 'stale', dir, reason: 'the source files or packages changed' };
  let touched = false;
  for (const split of SPLITS) {
    const s = m.splits?.[split];
    const file = s && path.join(dir, s.file);
    if (!s || !file || !fs.existsSync(file)) return { state: 'missing', dir, reason: `no ${split} split file in ${dir}` };
    const st = fs.statSync(file);
    if (st.size !== s.bytes) return { state: 'stale', dir, reason: `${file} has ${st.size} bytes, manifest says ${s.bytes}` };
    if (Math.floor(st.mtimeMs) !== s.mtimeMs) {
      const digest = await sha256File(file);
      if (digest !== s.sha256) return { state: 'stale', dir, reason: `${file} content hash differs from the manifest` };
      s.mtimeMs = Math.floor(st.mtimeMs);
      touched = true;
    }
  }
  const corpusHash = combineHashes(SPLITS.map((k) => [k, m.splits[k].sha256] as const));
  if (corpusHash !== m.corpusHash) return { state: 'stale', dir, reason: 'manifest corpusHash does not match its split hashes' };
  if (touched) writeFileAtomic(manifestFile, JSON.stringify(m, null, 2) + '\n');
  const files = Object.fromEntries(SPLITS.map((k) => [k, path.join(dir, m.splits[k].file)])) as Record<SplitName, string>;
  return { state: 'ok', corpus: { name: spec.name, dir, manifest: m, corpusHash, files } };
}

async function writeSplits(spec: DataSpec, dir: string, log: (s: string) => void): Promise<Record<SplitName, DocumentWriter>> {
  const writers = Object.fromEntries(SPLITS.map((k) => [k, new DocumentWriter(path.join(dir, `${k}.txt`))])) as Record<SplitName, DocumentWriter>;
  if (spec.kind === 'embedded') {
    for (const d of embeddedDocuments(DEFAULT_SPLIT_SEED)) writers[d.split].write(d.text);
  } else {
    // WikiText keeps its official splits; only the articles inside each file are separated.
    const w = locateWikiText(spec.name, spec.dir);
    log(`reading ${spec.name} (${w.layout} layout) from ${w.dir}`);
    for (const split of SPLITS) {
      for await (const doc of readWikiTextArticles(w.files[split], spec.name)) writers[split].write(doc);
      if (writers[split].documents === 0) throw new DataError(`${w.files[split]} holds no articles`);
    }
  }
  for (const split of SPLITS) writers[split].close();
  return writers;
}

/** Builds the corpus folder from its source (overwriting what is there). */
export async function buildCorpus(spec: DataSpec, root: string, log: (s: string) => void = () => {}): Promise<Corpus> {
  const t0 = performance.now();
  const dir = corpusDir(root, spec.name);
  fs.mkdirSync(dir, { recursive: true });
  const source = sourceOf(spec);
  log(`building corpus '${spec.name}' in ${dir}`);
  const writers = await writeSplits(spec, dir, log);
  const splits = {} as Record<SplitName, SplitFileStats>;
  for (const split of SPLITS) {
    const w = writers[split];
    const st = fs.statSync(w.file);
    splits[split] = {
      file: path.basename(w.file),
      documents: w.documents,
      bytes: st.size,
      chars: w.chars,
      sha256: await sha256File(w.file),
      mtimeMs: Math.floor(st.mtimeMs),
    };
  }
  if (splits.train.documents === 0 || splits.val.documents === 0) {
    throw new DataError(`corpus '${spec.name}' has ${splits.train.documents} training and ${splits.val.documents} validation documents; both must be non-empty`);
  }
  const corpusHash = combineHashes(SPLITS.map((k) => [k, splits[k].sha256] as const));
  const manifest: CorpusManifest = {
    format: 1,
    dataset: spec.name,
    spec: formatDataSpec(spec),
    builder: builderOf(spec),
    separator: 'blank line ("\\n\\n"); documents contain no blank lines',
    source,
    corpusHash,
    splits,
    buildSeconds: +((performance.now() - t0) / 1000).toFixed(3),
  };
  writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const files = Object.fromEntries(SPLITS.map((k) => [k, path.join(dir, splits[k].file)])) as Record<SplitName, string>;
  log(`corpus '${spec.name}': ${SPLITS.map((k) => `${k} ${splits[k].documents} docs`).join(', ')}; hash ${corpusHash.slice(0, 8)}`);
  return { name: spec.name, dir, manifest, corpusHash, files };
}

/** The corpus folder, built if missing or stale. */
export async function ensureCorpus(spec: DataSpec, root: string, log: (s: string) => void = () => {}): Promise<Corpus> {
  const status = await inspectCorpus(spec, root);
  if (status.state === 'ok') return status.corpus;
  if (status.state === 'stale') log(`rebuilding corpus '${spec.name}': ${status.reason}`);
  return buildCorpus(spec, root, log);
}
