// The on-disk corpus format shared by every dataset: one UTF-8 text file per split, documents separated by one
// blank line ("\n\n"), the file ending in "\n". A document never contains a blank line (normalizeDocument
// removes them), so splitting at "\n\n" recovers the documents exactly, and the packer can put end-of-text
// between them.
import * as fs from 'node:fs';
import { tempPathFor } from '../checkpoint/atomic';

export const DOCUMENT_SEPARATOR = '\n\n';

/** Makes text safe as one document: CRLF → LF, trailing spaces of lines dropped, blank lines removed, no
 * leading or trailing newline. Returns '' for text with no content. */
export function normalizeDocument(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/\s+$/u, ''))
    .filter((line) => line.trim().length > 0)
    .join('\n');
}

/** Unicode code points in `text` (a surrogate pair counts once). */
export function countChars(text: string): number {
  let pairs = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return text.length - pairs;
}

/** The text of a split file holding `docs` (already normalised). */
export function joinDocuments(docs: readonly string[]): string {
  return docs.length ? docs.join(DOCUMENT_SEPARATOR) + '\n' : '';
}

/** The documents of a split file's text. */
export function splitDocuments(text: string): string[] {
  return text.split(DOCUMENT_SEPARATOR).map((d) => d.replace(/^\n+|\n+$/g, '')).filter((d) => d.length > 0);
}

/** Streams the documents of a split file without holding the whole file as one string (WikiText-103's training
 * split is larger than V8's maximum string length). */
export async function* readDocuments(file: string): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 22 })) {
    pending += chunk as string;
    const docs = pending.split(DOCUMENT_SEPARATOR);
    pending = docs.pop() ?? '';
    for (const d of docs) {
      const doc = d.replace(/^\n+|\n+$/g, '');
      if (doc) yield doc;
    }
  }
  const last = pending.replace(/^\n+|\n+$/g, '');
  if (last) yield last;
}

/** Appends documents to a split file as they arrive; the file is written under a temporary name and renamed
 * on close (see lib/checkpoint/atomic.ts). */
export class DocumentWriter {
  private fd: number;
  private first = true;
  documents = 0;
  chars = 0;
  bytes = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(tempPathFor(file), 'w');
  }

  write(doc: string): void {
    if (!doc) return;
    const text = (this.first ? '' : DOCUMENT_SEPARATOR) + doc;
    this.first = false;
    const buf = Buffer.from(text, 'utf8');
    fs.writeSync(this.fd, buf);
    this.documents++;
    this.chars += countChars(text);
    this.bytes += buf.length;
  }

  close(): void {
    if (!this.first) {
      fs.writeSync(this.fd, '\n');
      this.chars += 1;
      this.bytes += 1;
    }
    fs.closeSync(this.fd);
    fs.renameSync(tempPathFor(this.file), this.file);
  }
}
