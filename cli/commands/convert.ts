// mla convert: an MHA/GQA/MQA checkpoint → an MLA checkpoint (lib/convert): joint SVD of [W_K | W_V] at the
// KV rank, W_q at the q rank, partial RoPE on the kept frequency pairs; latentNorm 'none' in the new config.
import { convertCheckpoint } from '../../lib/convert/convert-model';
import { output, parseFlags, requireInt } from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla convert --from CKPT --kv-rank R [--q-rank RQ] [--rope-dims r] --out FILE.safetensors [--json]
Converts a trained MHA, GQA or MQA checkpoint into MLA: each layer's per-head [K | V] is factorised by SVD at
rank R (the cached latent, 1..dModel; dModel is exact for learned positions, and for GQA any R ≥ 2·Hk·D), W_q at
rank RQ (default dModel, exact). RoPE models keep r rotated dims per head (default: the source's partial RoPE
dims, else D/2) on the highest-frequency pairs and share one RoPE key across heads — approximate unless the
source is MQA with partial RoPE of r dims; the report gives each pair's importance and the shared key's fit.
The converted model has no LayerNorm on its latents (latentNorm 'none').`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('convert', argv, {
    from: { type: 'string' },
    out: { type: 'string' },
    'kv-rank': { type: 'string' },
    'q-rank': { type: 'string' },
    'rope-dims': { type: 'string' },
  });
  if (values.help) return console.log(HELP), 0;
  if (!values.from) throw new CliError('convert: --from CKPT is required');
  if (!values.out) throw new CliError('convert: --out FILE is required');
  const kvRank = requireInt('convert', 'kv-rank', values['kv-rank'], 1);
  if (kvRank === undefined) throw new CliError('convert: --kv-rank R is required, e.g. --kv-rank 128');
  const opts = { kvRank, qRank: requireInt('convert', 'q-rank', values['q-rank'], 1), ropeDim: requireInt('convert', 'rope-dims', values['rope-dims'], 0) };
  let result;
  try {
    result = convertCheckpoint(values.from, values.out, opts);
  } catch (err) {
    // The conversion's own checks say what to change; anything else is a bug and keeps its stack.
    if (err instanceof RangeError) throw new CliError(`convert: ${err.message}`);
    throw err;
  }
  const r = result.report;
  const layers = r.layers.map(({ kvSingular: _s, ropeImportance, ...rest }) => ({ ...rest, ropeImportance }));
  output(values.json, { source: values.from, out: values.out, config: result.config, ...r, layers }, () =>
    [
      `wrote ${values.out}: MLA kvRank ${r.kvRank}, qRank ${r.qRank}, ropeDim ${r.ropeDim} from ${r.from.attention} (${r.from.nKvHeads} KV heads, ${r.from.rotaryDim} rotated dims)`,
      `exact: ${r.exact ? 'yes (the same function up to float rounding)' : 'no (low rank, or RoPE pairs dropped / shared key fitted)'}`,
      ...r.layers.map(
        (l) =>
          `  layer ${l.layer}: [K|V] energy kept ${(100 * l.kvEnergyKept).toFixed(2)}%, W_q ${(100 * l.qEnergyKept).toFixed(2)}%` +
          (r.ropeDim > 0 ? `, RoPE importance kept ${(100 * l.ropeKeptShare).toFixed(1)}% (best ${r.ropeDim / 2} pairs: ${(100 * l.ropeBestShare).toFixed(1)}%), shared-key residual ${(100 * l.sharedKeyResidual).toFixed(2)}%` : ''),
      ),
    ].join('\n'),
  );
  return 0;
}
