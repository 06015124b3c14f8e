// Learning the merge list with HuggingFace `tokenizers` (Rust, multi-threaded). Its Node binding has no
// trainer options: Tokenizer.train(files) runs the model's default BpeTrainer, which stops at 30,000 tokens.
// That is enough: BPE training is greedy, so the first merges of that run are exactly what a smaller run would
// learn, and tablesFromMerges (bpe.ts) cuts the list to any vocabulary size. The full run is saved once per
// corpus as `<dataset>-<hash8>-base.json` and every vocabulary size is derived from it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tempPathFor } from '../checkpoint/atomic';
import { mergesOfTokenizerJson } from './bpe';
import { DataError } from './errors';

/** Tokens in the binding's fixed training run (alphabet + merges), so the largest vocab derivable is about this. */
export const BASE_TRAINING_VOCAB = 30000;

// Runs in a child process: the native trainer prints progress-bar newlines straight to file descriptor 1, which
// would corrupt a command's --json output, and a crash in native code should not take the caller down with it.
const TRAIN_SCRIPT = `
const [tokenizersPath, out, ...files] = process.argv.slice(1);
const hf = require(tokenizersPath);
const tok = new hf.Tokenizer(hf.BPE.empty());
tok.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
tok.train(files);
tok.save(out, false);
`;

function bindingPath(): string {
  try {
    return require.resolve('tokenizers');
  } catch (e) {
    throw new DataError(`cannot find the npm package 'tokenizers': ${(e as Error).message}; run \`npm ci\``);
  }
}

/** Trains byte-level BPE on the text files and writes the binding's tokenizer.json (30,000 tokens) to `out`.
 * The files are read line by line with their newlines, through GPT-2's pre-tokenizer without a prefix space. */
export function trainBaseTokenizer(files: readonly string[], out: string): void {
  for (const f of files) if (!fs.existsSync(f)) throw new DataError(`tokenizer training file ${f} does not exist`);
  const tmp = tempPathFor(out);
  const r = spawnSync(process.execPath, ['-e', TRAIN_SCRIPT, bindingPath(), tmp, ...files], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(tmp)) {
    throw new DataError(`BPE training with the npm package 'tokenizers' failed (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').trim().slice(-2000)}`);
  }
  fs.renameSync(tmp, out);
}

/** The learned merges, in order, of a base tokenizer file. */
export function readBaseMerges(file: string): Array<[string, string]> {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError(`cannot read base tokenizer ${file}: ${(e as Error).message}; delete it to retrain`);
  }
  return mergesOfTokenizerJson(json, file);
}
