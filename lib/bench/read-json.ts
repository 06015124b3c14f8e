// Reading the JSON a device script brought back (records of `mla bench …`, PyTorch's files), for the folder summaries
// (decode-ab-summary.ts, train-ab-summary.ts): loosely typed, since an older version of a bench may have written it.
import * as fs from 'node:fs';
import { BenchError } from './errors';

export type Doc = any;

/** The file's JSON, or one line naming the damaged record and the fix. */
export function readRecordJson(file: string): Doc {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new BenchError(`${file} is not JSON; the record is damaged (rerun its stage)`);
  }
}
