// Every cache file is written under a temporary name and renamed into place, so a killed build never leaves a
// file that looks complete, and two processes building the same cache at once (parallel runs) cannot interleave
// their bytes: each writes its own temporary file, and the contents are identical anyway (builds are
// deterministic).
import * as fs from 'node:fs';

export function partialPath(file: string): string {
  return `${file}.partial-${process.pid}`;
}

export function writeFileAtomic(file: string, data: string | NodeJS.ArrayBufferView): void {
  const tmp = partialPath(file);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
