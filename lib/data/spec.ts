// Data spec strings, as given to `--data`: which corpus to train and evaluate on.
//   embedded                    Brown corpus + nlp-corpus sentences, shipped in node_modules (the default)
//   wikitext103:/path/to/folder WikiText-103 files in a local folder (tokenized or raw layout)
//   wikitext2:/path/to/folder   WikiText-2 files in a local folder
import * as path from 'node:path';
import { DataError } from './errors';

export type DatasetName = 'embedded' | 'wikitext103' | 'wikitext2';

export type DataSpec =
  | { kind: 'embedded'; name: 'embedded' }
  | { kind: 'wikitext'; name: 'wikitext103' | 'wikitext2'; /** absolute folder holding the wiki.*.{tokens,raw} files */ dir: string };

export const DEFAULT_DATA_SPEC = 'embedded';

const USAGE = "use 'embedded', 'wikitext103:/path/to/folder' or 'wikitext2:/path/to/folder'";

export function parseDataSpec(spec: string): DataSpec {
  const s = spec.trim();
  if (s === 'embedded') return { kind: 'embedded', name: 'embedded' };
  // Split at the first colon only, so Windows paths (C:\...) and paths with colons survive.
  const colon = s.indexOf(':');
  const head = colon < 0 ? s : s.slice(0, colon);
  if (head === 'wikitext103' || head === 'wikitext2') {
    const dir = colon < 0 ? '' : s.slice(colon + 1).trim();
    if (!dir) throw new DataError(`data spec '${spec}' names no folder; ${USAGE}`);
    return { kind: 'wikitext', name: head, dir: path.resolve(dir) };
  }
  throw new DataError(`unknown data spec '${spec}'; ${USAGE}`);
}

/** The canonical string of a spec (what parseDataSpec reads back). */
export function formatDataSpec(spec: DataSpec): string {
  return spec.kind === 'embedded' ? 'embedded' : `${spec.name}:${spec.dir}`;
}

export function toDataSpec(spec: DataSpec | string): DataSpec {
  return typeof spec === 'string' ? parseDataSpec(spec) : spec;
}
