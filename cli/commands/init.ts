// mla init: a randomly initialised checkpoint (0.01·N(0,1) weights, zero biases, as the original).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { saveCheckpoint } from '../../lib/checkpoint/checkpoint';
import { createModel } from '../../lib/model/gpt';
import { paramCount } from '../../lib/costs/params';
import { BACKEND_HELP, BACKEND_OPTION, MODEL_OPTIONS, modelConfigFromFlags, output, parseFlags, requireInt, startBackend } from '../common';
import { CliError } from '../errors';

const HELP = `usage: mla init --preset NAME [--set key=value ...] --seed S --out FILE.safetensors [--force] [--json]
  --force          overwrite FILE if it exists
${BACKEND_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('init', argv, { ...MODEL_OPTIONS, ...BACKEND_OPTION, seed: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } });
  if (values.help) return console.log(HELP), 0;
  const config = modelConfigFromFlags('init', values.preset, values.set);
  if (!values.out) throw new CliError('init: --out FILE is required');
  const seed = requireInt('init', 'seed', values.seed) ?? 0;
  checkOutFile(values.out, values.force === true);
  await startBackend(values.backend, values.json);
  const model = createModel(config, seed);
  await saveCheckpoint(values.out, model.params, config, { preset: values.preset ?? '', seed: String(seed) });
  output(values.json, { checkpoint: values.out, preset: values.preset, seed, params: paramCount(config).total }, () => `wrote ${values.out} (${values.preset}, seed ${seed})`);
  model.dispose();
  return 0;
}

/** Refuses, before any work, an --out that is a folder, that exists (without --force), or whose folder is missing. */
function checkOutFile(out: string, force: boolean): void {
  const stat = fs.statSync(out, { throwIfNoEntry: false });
  if (stat?.isDirectory()) throw new CliError(`init: --out ${out} is a folder; name a file such as ${path.join(out, 'init.safetensors')}`);
  if (stat && !force) throw new CliError(`init: ${out} exists; pass --force to overwrite it, or choose another --out`);
  const dir = path.dirname(path.resolve(out));
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`init: the folder ${dir} of --out does not exist; create it first`);
}
