// Atomic file replacement: the new content goes to `<file>.tmp-<pid>` in the same folder, is fsynced, and is
// renamed over the target. rename(2) within one filesystem is atomic, so a reader (or a process killed at any
// moment) sees either the whole old file or the whole new one, never a half-written file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeError } from './errors';
import { faultPoint } from './faults';

export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

/** fsync a folder so a rename inside it survives a power loss (a no-op where folders cannot be opened). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes a file through `write(fd)` into a temporary sibling, fsyncs and renames it over `file`. If anything
 * fails, the temporary file is removed and `file` is left as it was; an fs error a user can fix (a full disk,
 * a missing or read-only folder) becomes a one-line CheckpointError naming `file`.
 */
export function writeFileAtomicWith(file: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(file);
  let fd: number | undefined;
  try {
    faultPoint('create', file);
    fd = fs.openSync(tmp, 'w');
    write(fd);
    faultPoint('written', file);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    faultPoint('rename', file);
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw writeError(file, err);
  }
  faultPoint('renamed', file);
  fsyncDir(path.dirname(file));
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFileAtomicWith(file, (fd) => writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}

/** fs.writeSync may write fewer bytes than asked; loop until all are written. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
}
