// mla logits: the logits at every position of a token sequence, for comparing implementations (e.g. this
// lab's checkpoint loaded in PyTorch). With --cache, positions are fed one at a time through that cache, and
// with --cache-quant MLA's latent cache is stored quantized (the logits then differ from fp32's by its error).
import * as tf from '@tensorflow/tfjs-core';
import { withDeviceErrorScope } from '../../lib/backend';
import { readCheckpointConfig } from '../../lib/checkpoint/checkpoint';
import { CACHE_MODES, CacheMode, cacheModesFor } from '../../lib/costs/cache-modes';
import { startQuantizedDecode } from '../../lib/generate/cache-quant';
import { loadModel } from '../../lib/model/load';
import {
  BACKEND_HELP, BACKEND_OPTION, CACHE_QUANT_HELP, CACHE_QUANT_OPTIONS, cacheQuantFromFlags, checkCacheQuantFlags, output, parseFlags,
  parseIdList, startBackend,
} from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla logits --checkpoint FILE --ids 1,2,3 [--cache none|kv|full|latent|absorbed]
                  [--cache-quant int8|int4|fp8 --group-size G] [--json]
Prints logits (positions × vocabulary). Without --cache (or with none), one full forward pass.
${CACHE_QUANT_HELP}
${BACKEND_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('logits', argv, {
    ...BACKEND_OPTION,
    checkpoint: { type: 'string' },
    ids: { type: 'string' },
    cache: { type: 'string' },
    ...CACHE_QUANT_OPTIONS,
  });
  if (values.help) return console.log(HELP), 0;
  if (!values.checkpoint) throw new CliError('logits: --checkpoint FILE is required');
  const ids = parseIdList('logits', 'ids', values.ids);
  if (!ids?.length) throw new CliError('logits: --ids is required, e.g. --ids 1,2,3');
  const mode = (values.cache ?? 'none') as CacheMode;
  if (!CACHE_MODES.includes(mode)) throw new CliError(`logits: --cache '${values.cache}' is not one of ${CACHE_MODES.join(', ')}`);
  const cacheQuant = cacheQuantFromFlags('logits', values['cache-quant'], values['group-size']);
  // Checked from the checkpoint's header, before the backend starts or the weights are read.
  const header = readCheckpointConfig(values.checkpoint);
  if (mode !== 'none' && !cacheModesFor(header).includes(mode)) {
    throw new CliError(`logits: --cache ${mode} does not apply to this model's attention '${header.attention}'; pass one of ${['none', ...cacheModesFor(header)].join(', ')}`);
  }
  if (cacheQuant) checkCacheQuantFlags('logits', header, mode, cacheQuant, values.cache === undefined);
  await startBackend(values.backend, values.json);
  const { model } = loadModel(values.checkpoint);
  const V = model.config.vocabSize;
  const bad = ids.find((i) => i >= V);
  if (bad !== undefined) throw new CliError(`logits: token id ${bad} is outside the model's vocabulary 0..${V - 1}`);
  const P = model.config.maxSeqLen;
  if (ids.length > P) throw new CliError(`logits: --ids has ${ids.length} ids, more than the model's ${P} positions (maxSeqLen); pass at most ${P}`);
  // The forward (or decode) and the read-back in a Dawn error scope on WebGPU (nothing on other backends).
  const values2d = await withDeviceErrorScope(async () => {
    let logits: tf.Tensor3D;
    if (mode === 'none') {
      logits = model.logits(tf.tensor2d([ids], [1, ids.length], 'int32'));
    } else {
      let state = cacheQuant ? startQuantizedDecode(model, 1, mode, cacheQuant) : model.startDecode(1, mode);
      const rows: tf.Tensor3D[] = [];
      for (const id of ids) {
        const r = model.decode(tf.tensor2d([[id]], [1, 1], 'int32'), state);
        state = r.state;
        rows.push(r.logits);
      }
      model.endDecode(state);
      logits = tf.concat(rows, 1);
    }
    const read = ((await logits.array()) as number[][][])[0];
    logits.dispose();
    return read;
  }, 'logits');
  model.dispose();
  output(values.json, { checkpoint: values.checkpoint, cache: mode, cacheQuant: cacheQuant ?? null, ids, logits: values2d }, () =>
    values2d.map((row, t) => `${t}\t${row.map((x) => x.toPrecision(7)).join(' ')}`).join('\n'),
  );
  return 0;
}
