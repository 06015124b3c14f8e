// mla info: one model's resolved config, parameter count and KV cache per applicable cache mode.
import { cacheModesFor } from '../../lib/costs/cache-modes';
import { DEFAULT_QUANT_GROUP_SIZE, kvCacheBytes, kvCacheElements, quantizedKvCacheBytes } from '../../lib/costs/kv-cache';
import { paramCount } from '../../lib/costs/params';
import { deriveSizes } from '../../lib/config/model-config';
import { MODEL_OPTIONS, modelConfigFromFlags, output, parseFlags, requireInt, textTable } from '../common';

const HELP = `usage: mla info --preset NAME [--set key=value ...] [--group-size G] [--json]
Prints the resolved config, derived sizes, parameters, and for each cache mode that applies the KV cache
per token: elementsPerTokenPerLayer, elementsPerToken (all layers) and bytesPerTokenFp32. For MLA also the
latent cache quantized (kvCacheQuantized): int8, int4 and fp8 codes with one fp32 scale per G latent dims
(default ${DEFAULT_QUANT_GROUP_SIZE}) and the RoPE key in fp32 — bytes per token and layer, and all layers.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('info', argv, { ...MODEL_OPTIONS, 'group-size': { type: 'string' } });
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
  const groupSize = requireInt('info', 'group-size', values['group-size'], 1) ?? DEFAULT_QUANT_GROUP_SIZE;
  // latent and absorbed hold the same tensors, so one row per format covers both.
  const kvCacheQuantized =
    config.attention !== 'mla'
      ? []
      : (['int8', 'int4', 'fp8'] as const).map((format) => {
          const b = quantizedKvCacheBytes(config, 'latent', { format, groupSize });
          return { modes: ['latent', 'absorbed'], format, groupSize, codes: b.codes, scales: b.scales, ropeKey: b.ropeKey, bytesPerTokenPerLayer: b.perTokenPerLayer, bytesPerToken: b.perToken };
        });
  const params = paramCount(config);
  const info = { preset: values.preset, config, derived: deriveSizes(config), params, kvCache, kvCacheQuantized };
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
      ...(kvCacheQuantized.length
        ? [
            '',
            textTable(
              [`latent cache (groups of ${groupSize})`, 'codes', 'scales', 'RoPE key', 'bytes/token/layer', 'bytes/token'],
              kvCacheQuantized.map((q) => [q.format, q.codes, q.scales, q.ropeKey, q.bytesPerTokenPerLayer, q.bytesPerToken]),
            ),
          ]
        : []),
    ].join('\n'),
  );
  return 0;
}
