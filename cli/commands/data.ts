// mla data build|info|pack: prepare (or describe) a corpus, its tokenizer and its encoded splits, or pack them
// into one folder for a machine without the corpus packages (the GPU machine).
import { unigramPerplexity } from '../../lib/data/baseline';
import { DEFAULT_VOCAB_SIZE, DatasetDescription, defaultDataRoot, describeDataset, prepareDataset } from '../../lib/data/prepare';
import { DEFAULT_DATA_SPEC, parseDataSpec } from '../../lib/data/spec';
import { SPLITS } from '../../lib/data/split';
import { packDataset } from '../../lib/data/packed';
import { CliError } from '../errors';
import { output, parseFlags, requireInt, textTable } from '../common';

const HELP = `usage: mla data build|info|pack [--data SPEC] [--vocab N] [--root DIR] [--out DIR] [--json]
  build   build whatever is missing: the corpus split files, a byte-level BPE tokenizer of exactly N ids
          (N-1 ordinary tokens + <|endoftext|>) and the token-id caches; prints their sizes
  info    the same numbers from what is already on disk, or what is missing and the command to build it
  pack    build, then copy the token files and the tokenizer into --out DIR, which \`mla experiment run
          --dataset DIR\` reads on a machine without the corpus packages (same corpus hash, same run folders)
  --data SPEC   embedded (default: Brown + nlp-corpus from node_modules), wikitext103:/folder, wikitext2:/folder
                (a folder holding wiki.{train,valid,test}.tokens or wiki.{train,valid,test}.raw)
  --vocab N     vocabulary size, ≥ 257 (default ${DEFAULT_VOCAB_SIZE}; the tiny-* presets use 512)
  --root DIR    where corpora/, tokenizers/ and tokens/ live (default: $MLA_DATA_ROOT, else the repository's data/)
  --json        machine-readable output on stdout (progress goes to stderr)`;

const OPTIONS = {
  data: { type: 'string', default: DEFAULT_DATA_SPEC },
  vocab: { type: 'string' },
  root: { type: 'string' },
  out: { type: 'string' },
} as const;

function splitTable(splits: NonNullable<DatasetDescription['splits']>): string {
  return textTable(
    ['split', 'documents', 'characters', 'bytes', 'tokens'],
    SPLITS.map((k) => [k, splits[k].documents, splits[k].chars, splits[k].bytes, splits[k].tokens ?? '-']),
  );
}

async function build(spec: string, vocabSize: number, root: string, json: boolean): Promise<number> {
  const p = await prepareDataset(parseDataSpec(spec), { vocabSize, root, log: (s) => console.error(s) });
  const m = p.corpus.manifest;
  const splits = Object.fromEntries(
    SPLITS.map((k) => [k, { documents: m.splits[k].documents, chars: m.splits[k].chars, bytes: m.splits[k].bytes, tokens: p.tokenCounts[k] }]),
  ) as NonNullable<DatasetDescription['splits']>;
  const unigramValPerplexity = unigramPerplexity(p.splits.train, p.splits.val, p.vocabSize);
  const result = {
    dataset: p.name,
    spec: m.spec,
    corpusHash: p.corpusHash,
    corpusDir: p.corpus.dir,
    vocabSize: p.vocabSize,
    eotId: p.eotId,
    tokenizerPath: p.tokenizerPath,
    splits,
    unigramValPerplexity,
    built: p.built,
    seconds: p.seconds,
    encodeTokensPerSecond: p.tokenCache.tokensPerSecond,
  };
  output(json, result, () =>
    [
      `dataset     ${result.spec}`,
      `corpus      ${result.corpusDir} (hash ${result.corpusHash.slice(0, 16)}…)`,
      `tokenizer   ${result.tokenizerPath} (${result.vocabSize} ids, <|endoftext|> = ${result.eotId})`,
      '',
      splitTable(splits),
      '',
      `unigram perplexity on val (add-one, fitted on train): ${unigramValPerplexity.toFixed(2)}`,
      `built: ${Object.entries(p.built).map(([k, v]) => `${k} ${v ? 'built' : 'reused'}`).join(', ')}; ${p.seconds.total} s` +
        (p.built.tokens ? `; encoded at ${result.encodeTokensPerSecond} tokens/s` : ''),
    ].join('\n'),
  );
  return 0;
}

async function info(spec: string, vocabSize: number, root: string, json: boolean): Promise<number> {
  const d = await describeDataset(parseDataSpec(spec), { vocabSize, root });
  output(json, d, () => {
    const lines = [`dataset     ${d.spec}`, `corpus      ${d.corpusDir}: ${d.corpus}${d.corpusReason ? ` (${d.corpusReason})` : ''}`];
    if (d.corpusHash) lines.push(`corpus hash ${d.corpusHash}`);
    if (d.tokenizerPath) lines.push(`tokenizer   ${d.tokenizerPath}: ${d.tokenizer}`);
    lines.push(`tokens      vocab ${d.vocabSize}: ${d.tokens}`);
    if (d.splits) lines.push('', splitTable(d.splits));
    if (d.buildCommand) lines.push('', `to build what is missing: ${d.buildCommand}`);
    return lines.join('\n');
  });
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('data', argv, OPTIONS, true);
  if (values.help) return console.log(HELP), 0;
  const [action, ...extra] = positionals;
  if (extra.length) throw new CliError(`data: unexpected argument '${extra[0]}'`, HELP);
  const vocabSize = requireInt('data', 'vocab', values.vocab, 257) ?? DEFAULT_VOCAB_SIZE;
  const spec = values.data ?? DEFAULT_DATA_SPEC;
  const root = values.root ?? defaultDataRoot();
  if (action === 'build') return build(spec, vocabSize, root, values.json);
  if (action === 'info') return info(spec, vocabSize, root, values.json);
  if (action === 'pack') {
    if (!values.out) throw new CliError('data pack: --out DIR is required', 'e.g. mla data pack --vocab 10000 --out .device/data-v10000');
    const p = await prepareDataset(parseDataSpec(spec), { vocabSize, root, log: (s) => console.error(s) });
    const files = await packDataset(p, values.out, root);
    output(values.json, { dir: values.out, corpusHash: p.corpusHash, vocabSize, files }, () => `packed ${p.name} (corpus ${p.corpusHash.slice(0, 12)}…, vocab ${vocabSize}) into ${values.out}: ${files.length} files`);
    return 0;
  }
  throw new CliError(action ? `data: unknown action '${action}'` : 'data: say build, info or pack', HELP);
}
