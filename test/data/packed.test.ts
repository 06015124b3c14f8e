// A packed dataset loads with the same corpus hash, tokenizer and token ids as the prepared one, so a run trained
// from the pack (on the GPU machine) lands in the same run folder; a damaged pack is refused with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPackedDataset, packDataset } from '../../lib/data/packed';
import { defaultDataRoot, prepareDataset } from '../../lib/data/prepare';
import { removeDir, tempDir } from './helpers';

test('pack → load: same identity and tokens; a truncated token file or another tokenizer is refused', async () => {
  const root = defaultDataRoot();
  const ds = await prepareDataset('embedded', { vocabSize: 512, root });
  const dir = tempDir('packed');
  try {
    await packDataset(ds, dir, root);
    const p = await loadPackedDataset(dir);
    assert.equal(p.corpusHash, ds.corpusHash);
    assert.equal(p.vocabSize, 512);
    assert.equal(p.eotId, ds.eotId);
    assert.deepEqual(p.tokenCounts, ds.tokenCounts);
    assert.deepEqual(Array.from(p.splits.val.slice(0, 200)), Array.from(ds.splits.val.slice(0, 200)));
    assert.deepEqual(p.tokenizer.encode('the season was released'), ds.tokenizer.encode('the season was released'));

    const train = fs.readdirSync(dir).find((f) => f.endsWith('.train.u16'))!;
    const bytes = fs.readFileSync(path.join(dir, train));
    fs.writeFileSync(path.join(dir, train), bytes.subarray(0, bytes.length - 2));
    await assert.rejects(loadPackedDataset(dir), /token files in .* do not match .*repack with: mla data pack/);
    fs.writeFileSync(path.join(dir, train), bytes);
    fs.appendFileSync(path.join(dir, 'tokenizer.json'), ' ');
    await assert.rejects(loadPackedDataset(dir), /tokenizer .* the pack expects/);
    await assert.rejects(loadPackedDataset(path.join(dir, 'nowhere')), /cannot read .*packed\.json/);
  } finally {
    removeDir(dir);
  }
});
