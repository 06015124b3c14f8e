// mla info: one model's resolved config, parameter count and KV cache per applicable cache mode.
import { cacheModesFor } from '../../lib/costs/cache-modes';
import { kvCacheBytes, kvCacheElements } from '../../lib/costs/kv-cache';
import { paramCount } from '../../lib/costs/params';
import { deriveSizes } from '../../lib/config/model-config';
import { MODEL_OPTIONS, modelConfigFromFlags, output, parseFlags, textTable } from '../common';

const HELP = `usage: mla info --preset NAME [--set key=value ...] [--json]
Prints the resolved config, derived sizes, parameters, and for each cache mode that applies the KV cache
per token: elementsPerTokenPerLayer, elementsPerToken (all layers) and bytesPerTokenFp32.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('info', argv, MODEL_OPTIONS);
  if (values.help) return console.log(HELP), 0;
  const config = modelConfigFromFlags('info', values.preset, values.set);
  const kvCache = cacheModesFor(config).map((mode) => {
    const e = kvCacheElements(config, mode);
    return {
      mode,
      elementsPerTokenPerLayer: e.perTokenPerLayer,
      elementsPerToken: e.perToken,
      bytesPerTokenFp32: kvCacheBytes(config, mode, 'fp32').perToken,
      bytesPerTokenFp16: kvCacheBytes(config, mode, 'fp16').perToken,
    };
  });
  const params = paramCount(config);
  const info = { preset: values.preset, config, derived: deriveSizes(config), params, kvCache };
  output(values.json, info, () =>
    [
      `preset ${values.preset}`,
      ...Object.entries(config).map(([k, v]) => `  ${k.padEnd(12)} ${v}`),
      `parameters ${params.total.toLocaleString('en-US')}`,
      '',
      textTable(
        ['cache mode', 'elements/token/layer', 'elements/token', 'bytes/token fp32'],
        kvCache.map((k) => [k.mode, k.elementsPerTokenPerLayer, k.elementsPerToken, k.bytesPerTokenFp32]),
      ),
    ].join('\n'),
  );
  return 0;
}
