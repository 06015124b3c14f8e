// mla presets: every preset with its parameter count and KV cache per token.
import { PRESETS, resolveConfig } from '../../lib/config/presets';
import { defaultCacheMode } from '../../lib/costs/cache-modes';
import { kvCacheElements } from '../../lib/costs/kv-cache';
import { paramCount } from '../../lib/costs/params';
import { output, parseFlags, textTable } from '../common';

const HELP = `usage: mla presets [--json]
Lists every preset: parameters, KV-cache elements per token (one layer and all layers, in the most compact
cache mode), and what the study reported for it.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('presets', argv, {});
  if (values.help) return console.log(HELP), 0;
  const rows = Object.entries(PRESETS).map(([name, p]) => {
    const c = resolveConfig(name);
    const kv = kvCacheElements(c, defaultCacheMode(c));
    return {
      name,
      description: p.description,
      attention: c.attention,
      positions: c.positions,
      params: paramCount(c).total,
      kvCacheMode: kv.mode,
      kvElementsPerTokenPerLayer: kv.perTokenPerLayer,
      kvElementsPerToken: kv.perToken,
      study: p.study ?? null,
    };
  });
  output(values.json, rows, () =>
    textTable(
      ['preset', 'params', 'KV/token/layer', 'KV/token (all layers)', 'mode', 'study KV', 'study ppl'],
      rows.map((r) => [
        r.name,
        `${(r.params / 1e6).toFixed(2)}M`,
        r.kvElementsPerTokenPerLayer,
        r.kvElementsPerToken,
        r.kvCacheMode,
        r.study?.kvElementsAllLayers ?? '',
        r.study?.trainPerplexity ?? '',
      ]),
    ),
  );
  return 0;
}
