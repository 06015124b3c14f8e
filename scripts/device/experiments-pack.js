// Here, before a GPU run of the experiment notebooks' training: writes .device/exp-data/ with the prepared
// embedded dataset at one vocabulary (token files + what trainDataFromDataset and result.json need), so the GPU
// machine, which has neither the corpus packages nor the tokenizer binding, trains on exactly the same tokens.
//   node scripts/device/experiments-pack.js [--vocab 10000]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const lib = require('../../dist/lib/index.js');

async function main() {
  const { values } = parseArgs({ options: { vocab: { type: 'string', default: '10000' } } });
  const vocab = Number(values.vocab);
  const ds = await lib.prepareDataset('embedded', { vocabSize: vocab });
  const dir = path.join('.device', 'exp-data', `v${vocab}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'val']) {
    const a = ds.splits[split];
    fs.writeFileSync(path.join(dir, `${split}.bin`), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
  const meta = {
    name: ds.name,
    spec: ds.spec,
    corpusHash: ds.corpusHash,
    tokenizerPath: ds.tokenizerPath,
    tokenCounts: ds.tokenCounts,
    eotId: ds.eotId,
    vocabSize: ds.vocabSize,
    dtype: ds.splits.train instanceof Uint16Array ? 'u16' : 'i32',
  };
  fs.writeFileSync(path.join(dir, 'dataset.json'), JSON.stringify(meta, null, 1));
  console.log(`wrote ${dir}: ${ds.tokenCounts.train} train, ${ds.tokenCounts.val} val tokens, corpus ${ds.corpusHash.slice(0, 8)}`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
