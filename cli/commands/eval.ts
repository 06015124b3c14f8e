// mla eval: perplexity of a run's last checkpoint on a split of the data it was trained on.
import * as path from 'node:path';
import type { SplitName } from '../../lib/data/split';
import { defaultDataRoot, prepareDataset } from '../../lib/data/prepare';
import { DEFAULT_DATA_SPEC } from '../../lib/data/spec';
import { perplexity } from '../../lib/eval/perplexity';
import { unigramPerplexity } from '../../lib/data/baseline';
import { loadModel } from '../../lib/model/load';
import { MODEL_FILE, findLatestCheckpoint } from '../../lib/train/checkpoints';
import { describeTrainData } from '../../lib/train/data';
import { checkDataIdentity, withTokenizerHash } from '../../lib/train/data-identity';
import { CONFIG_FILE, readJsonFile } from '../../lib/train/run-dir';
import type { RunConfig } from '../../lib/train/trainer';
import { BACKEND_HELP, BACKEND_OPTION, output, parseFlags, requireInt, startBackend } from '../common';
import { withDeviceErrorScope } from '../../lib/backend';
import { CliError } from '../errors';

const HELP = `usage: mla eval --run DIR [--split val|train|test] [--seq T] [--batch B] [--max-tokens N] [--json]
  Perplexity = exp(mean next-token cross-entropy) of the run's last checkpoint, over the split in order in
  non-overlapping windows of T tokens (default: the run's training --seq).
  --split S        val (default) | train (the study's "training perplexity") | test
  --max-tokens N   score only the first N tokens of the split (default: all)
  --root DIR       data root (default: the run's, else $MLA_DATA_ROOT or the repository's data/)
${BACKEND_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('eval', argv, {
    ...BACKEND_OPTION,
    run: { type: 'string' },
    split: { type: 'string', default: 'val' },
    seq: { type: 'string' },
    batch: { type: 'string' },
    'max-tokens': { type: 'string' },
    root: { type: 'string' },
  });
  if (v.help) return console.log(HELP), 0;
  if (!v.run) throw new CliError('eval: --run DIR is required (a folder written by mla train)');
  const split = v.split as SplitName;
  if (!['val', 'train', 'test'].includes(split)) throw new CliError(`eval: --split must be val, train or test, got '${v.split}'`);
  const saved = readJsonFile<RunConfig>(path.join(v.run, CONFIG_FILE));
  if (!saved) throw new CliError(`eval: ${path.join(v.run, CONFIG_FILE)} is missing or unreadable; is --run a run folder?`);
  const ref = findLatestCheckpoint(v.run);
  if (!ref) throw new CliError(`eval: ${v.run} has no complete checkpoint yet; train (or resume) it first`);

  const backend = await startBackend(v.backend, v.json);
  const { model } = loadModel(path.join(ref.dir, MODEL_FILE), saved.model);
  const data = (saved.data ?? {}) as { spec?: string };
  const root = path.resolve(v.root ?? (saved.dataRoot as string | undefined) ?? defaultDataRoot());
  const ds = await prepareDataset(data.spec ?? DEFAULT_DATA_SPEC, { vocabSize: model.config.vocabSize, root, log: (s) => console.error(s) });
  // Corpus files that changed since training rebuild into other tokens: a perplexity on them means nothing.
  checkDataIdentity(saved.data, await withTokenizerHash(describeTrainData(ds)), `eval of ${path.resolve(v.run)}`);
  const seqLen = requireInt('eval', 'seq', v.seq, 1) ?? saved.options.seqLen;
  const batchSize = requireInt('eval', 'batch', v.batch, 1) ?? saved.options.batchSize;
  const maxTokens = requireInt('eval', 'max-tokens', v['max-tokens'], 1);
  const t0 = performance.now();
  const r = await withDeviceErrorScope(() => perplexity(model, ds.splits[split], { seqLen, batchSize, maxTokens }), `eval of ${path.resolve(v.run)}`);
  const seconds = (performance.now() - t0) / 1000;
  // The floor any model must beat: a unigram model fitted on the training split, scored on the same tokens.
  const unigram = unigramPerplexity(ds.splits.train, Array.prototype.slice.call(ds.splits[split], 0, r.tokens + 1), ds.vocabSize);
  output(v.json, { run: path.resolve(v.run), checkpoint: ref.dir, step: ref.step, split, seqLen, ...r, unigramPerplexity: unigram, seconds, backend: backend.backend }, () =>
    [
      `${split} perplexity ${r.perplexity.toFixed(2)} (loss ${r.loss.toFixed(4)}) over ${r.tokens.toLocaleString('en-US')} tokens; checkpoint of step ${ref.step}, windows of ${seqLen}`,
      `unigram baseline on the same tokens: perplexity ${unigram.toFixed(2)} (add-one smoothed, fitted on the training split)`,
    ].join('\n'),
  );
  model.dispose();
  return 0;
}
