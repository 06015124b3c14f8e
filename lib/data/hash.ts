// Content hashes of corpus files. The corpus hash names the tokenizer and token caches, so two corpora that
// differ by one byte never share them.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** sha256 (hex) of a file, streamed so files larger than memory-friendly strings are fine. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The hash of several files as one: sha256 over "name:sha256\n" lines in the given order. */
export function combineHashes(parts: ReadonlyArray<readonly [string, string]>): string {
  const h = createHash('sha256');
  for (const [name, digest] of parts) h.update(`${name}:${digest}\n`);
  return h.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}
