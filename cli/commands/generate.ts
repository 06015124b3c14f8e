// mla generate: tokens from a checkpoint, in any cache mode, greedy or sampled with a seed.
import { CACHE_MODES, CacheMode, defaultCacheMode } from '../../lib/costs/cache-modes';
import { withDeviceErrorScope } from '../../lib/backend';
import { readCheckpointConfig } from '../../lib/checkpoint/checkpoint';
import { loadTokenizer } from '../../lib/data/bpe';
import { DataError } from '../../lib/data/errors';
import { generate } from '../../lib/generate/generate';
import { loadModel, withMaxSeqLen } from '../../lib/model/load';
import {
  BACKEND_HELP, BACKEND_OPTION, CACHE_QUANT_HELP, CACHE_QUANT_OPTIONS, cacheQuantFromFlags, checkCacheQuantFlags, output, parseFlags,
  parseIdList, requireInt, requireNumber, startBackend,
} from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla generate --checkpoint FILE (--prompt-ids 1,2,3 | --prompt TEXT [--tokenizer FILE]) --tokens N
                    [--cache none|kv|full|latent|absorbed] [--cache-quant int8|int4|fp8 --group-size G]
                    [--temperature T --top-k K --seed S] [--set maxSeqLen=N] [--json]
Greedy by default (temperature 0). --prompt needs a tokenizer: --tokenizer FILE, or the one recorded in the
checkpoint's metadata by 'mla train'. The cache mode defaults to the model's most compact one.
--set maxSeqLen=N decodes past the checkpoint's maxSeqLen (RoPE models; the only key --set takes here).
${CACHE_QUANT_HELP}
${BACKEND_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('generate', argv, {
    ...BACKEND_OPTION,
    checkpoint: { type: 'string' },
    'prompt-ids': { type: 'string' },
    prompt: { type: 'string' },
    tokenizer: { type: 'string' },
    tokens: { type: 'string' },
    cache: { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    seed: { type: 'string' },
    ...CACHE_QUANT_OPTIONS,
    set: { type: 'string', multiple: true, default: [] as string[] },
  });
  if (values.help) return console.log(HELP), 0;
  if (!values.checkpoint) throw new CliError('generate: --checkpoint FILE is required');
  const tokens = requireInt('generate', 'tokens', values.tokens, 1);
  if (tokens === undefined) throw new CliError('generate: --tokens N is required');
  // Flags are checked before the checkpoint is read or anything runs.
  const temperature = requireNumber('generate', 'temperature', values.temperature) ?? 0;
  if (temperature < 0) throw new CliError(`generate: --temperature must be ≥ 0 (0 = greedy), got ${temperature}`);
  const topK = requireInt('generate', 'top-k', values['top-k']);
  const seed = requireInt('generate', 'seed', values.seed) ?? 0;
  if (values.cache !== undefined && !CACHE_MODES.includes(values.cache as CacheMode)) {
    throw new CliError(`generate: --cache '${values.cache}' is not one of ${CACHE_MODES.join(', ')}`);
  }
  const cacheQuant = cacheQuantFromFlags('generate', values['cache-quant'], values['group-size']);
  // A quantized cache needs an MLA latent cache: the checkpoint's header says whether there is one.
  if (cacheQuant) {
    const config = readCheckpointConfig(values.checkpoint);
    checkCacheQuantFlags('generate', config, (values.cache ?? defaultCacheMode(config)) as CacheMode, cacheQuant);
  }
  const maxSeqLen = maxSeqLenFromSet(values.set);
  if (maxSeqLen !== undefined) {
    try {
      withMaxSeqLen(readCheckpointConfig(values.checkpoint), maxSeqLen);
    } catch (err) {
      if (err instanceof RangeError) throw new CliError(`generate: --set ${err.message}`);
      throw err;
    }
  }
  await startBackend(values.backend, values.json);
  const { model, metadata } = loadModel(values.checkpoint, undefined, { maxSeqLen });
  const tokenizerFile = values.tokenizer ?? metadata.tokenizer;
  const tokenizer = values.prompt !== undefined || tokenizerFile ? loadTokenizerFor(tokenizerFile, values.prompt !== undefined, values.tokenizer !== undefined) : undefined;
  let promptIds = parseIdList('generate', 'prompt-ids', values['prompt-ids']);
  if (values.prompt !== undefined) promptIds = tokenizer!.encode(values.prompt);
  if (!promptIds?.length) throw new CliError('generate: give --prompt-ids 1,2,3 or --prompt TEXT');
  const cache = (values.cache ?? defaultCacheMode(model.config)) as CacheMode;
  // In a Dawn error scope on WebGPU (nothing on other backends): a device error fails the command, naming it.
  const result = await withDeviceErrorScope(() => generate(model, [promptIds], {
    maxNewTokens: tokens,
    cache,
    cacheQuant,
    temperature,
    topK,
    seed,
  }), 'generate');
  const ids = result.tokens[0];
  const text = tokenizer?.decode(ids);
  const msPerToken = result.stepMs.length ? result.stepMs.reduce((a, b) => a + b, 0) / result.stepMs.length : 0;
  const stored = cacheQuant && cacheQuant.format !== 'none' ? ` ${cacheQuant.format}, groups of ${cacheQuant.groupSize}` : '';
  output(values.json, { prompt: promptIds, tokens: ids, text, cache, cacheQuant: cacheQuant ?? null, prefillMs: result.prefillMs, msPerToken }, () =>
    [text !== undefined ? text : ids.join(','), `(${ids.length} tokens, cache ${cache}${stored}, ${msPerToken.toFixed(1)} ms/token)`].join('\n'),
  );
  model.dispose();
  return 0;
}

/** --set for generate: maxSeqLen=N only (the checkpoint fixes everything else). */
function maxSeqLenFromSet(set: string[] | undefined): number | undefined {
  let n: number | undefined;
  for (const kv of set ?? []) {
    const m = /^maxSeqLen=(.*)$/.exec(kv);
    if (!m) throw new CliError(`generate: --set '${kv}': only maxSeqLen=N can be set on a checkpoint (the weights fix the rest)`);
    n = requireInt('generate', 'set maxSeqLen', m[1], 1);
  }
  return n;
}

function loadTokenizerFor(file: string | undefined, needed: boolean, given: boolean) {
  if (!file) {
    if (needed) throw new CliError('generate: --prompt needs a tokenizer; pass --tokenizer FILE (data/tokenizers/…)');
    return undefined;
  }
  try {
    return loadTokenizer(file);
  } catch (err) {
    // lib/data's advice ("delete it to retrain") is for the tokenizers it builds, not for a file the user named.
    if (!given || !(err instanceof DataError)) throw err;
    const why = err.message.replace(/; delete it to retrain$/, '');
    throw new CliError(`generate: --tokenizer ${file}: ${why}; pass a tokenizer.json written by 'mla data build' (data/tokenizers/…)`);
  }
}
