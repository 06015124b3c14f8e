// On the GPU machine: trains the training experiments of a scale (02 no-RoPE, 03 RoPE; 04 scaling with
// --scaling) through the same ensureRun the notebooks call, on WebGPU, from the dataset packed by
// experiments-pack.js, within a time budget. Run folders (config.json, metrics.jsonl, result.json; checkpoints
// left out) are packed into $OUT/runs.tar.gz; unpacked into data/runs/ here, the notebooks reuse them and only draw.
//   node scripts/device/experiments.js [--scale small] [--budget-s 420] [--experiments noRope,rope | --scaling] [--presets a,b]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const lib = require('../../dist/lib/index.js');

function loadDataset(vocab) {
  const dir = path.join('.device', 'exp-data', `v${vocab}`);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'dataset.json'), 'utf8'));
  const read = (split) => {
    const b = fs.readFileSync(path.join(dir, `${split}.bin`));
    const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    return meta.dtype === 'u16' ? new Uint16Array(ab) : new Int32Array(ab);
  };
  return { ...meta, splits: { train: read('train'), val: read('val'), test: read('val') } };
}

async function main() {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: 'small' },
      'budget-s': { type: 'string', default: '420' },
      scaling: { type: 'boolean', default: false },
      experiments: { type: 'string', default: 'noRope,rope' },
      presets: { type: 'string' },
    },
  });
  const init = await lib.initBackend('webgpu');
  console.log(`backend ${init.backend} on ${init.device}`);
  const s = lib.scale(values.scale);
  const deadline = Date.now() + Number(values['budget-s']) * 1000;
  const runsDir = path.resolve('device-runs');
  const names = values.scaling ? ['scaling'] : values.experiments.split(',');
  const only = values.presets ? new Set(values.presets.split(',')) : null;
  const exps = names.map((n) => [n, { ...s[n], presets: s[n].presets.filter((p) => !only || only.has(p)) }]);
  const datasets = new Map();
  let stopped = false;
  for (const [name, exp] of exps) {
    for (const preset of exp.presets) {
      for (const seed of s.seeds) {
        const vocab = lib.resolveConfig(preset).vocabSize;
        if (!datasets.has(vocab)) datasets.set(vocab, loadDataset(vocab));
        const spec = { preset, seed, data: s.data, train: exp.train, trainEvalTokens: exp.train.evalTokens };
        const t0 = Date.now();
        try {
          const r = await lib.ensureRun(spec, { runsDir, dataset: datasets.get(vocab), hooks: { shouldStop: () => Date.now() > deadline } });
          console.log(`${name} ${preset} seed ${seed}: val ppl ${r.valPerplexity.toFixed(2)}, ${Math.round(r.tokensPerSec.median)} tok/s, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        } catch (e) {
          console.log(`${name} ${preset} seed ${seed}: ${e.message}`);
          stopped = true;
        }
        if (Date.now() > deadline) break;
      }
    }
  }
  const out = process.env.OUT || '.';
  execFileSync('tar', ['-czf', path.join(out, 'runs.tar.gz'), '--exclude=checkpoint', '-C', runsDir, '.']);
  console.log(`packed ${fs.readdirSync(runsDir).length} run folders${stopped ? ' (budget reached: some runs unfinished)' : ''}`);
  lib.exitProcess(0, true);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
