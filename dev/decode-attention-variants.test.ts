// Tests of the two decode-attention variants that lost (dev/README.md), as they ran in
// test/attention/decode-attention.test.ts at commit 0d9c481, where `inputs`, `Case`, `CASES`, LATENT_CASES (the file's
// ABSORBED_CASES now), `keysFor` and the simulator helpers are defined; LATENT was decodeAttentionKernels(undefined, 1,
// true) and STAGED decodeAttentionKernels(undefined, 1, false, true), the signature of that commit. Both passed there,
// as did the general shader's reference test with each variant's kernels. Not compiled; to revive a variant, move its
// code back (dev/decode-latent-wgsl.ts, dev/decode-staged-keys.ts) and these tests beside the general shader's.

for (const c of LATENT_CASES) {
  test(`latent shader = the op's reference: ${c.what} (B ${c.B}, H ${c.H}, rows ${c.Tq}, S ${c.S}, widths ${c.terms.map((t) => t[0]).join('+')}/${c.dv})`, async () => {
    await useCpu();
    const ref = inputs(c, 0);
    const want = decodeAttentionReference(ref.terms, ref.v, ref.opts);
    const nan = inputs(c, Number.NaN);
    const ins = nan.terms.flatMap((t) => [t.q, t.k]).concat([nan.v]);
    const stages = kernelStages(LATENT[c.terms.length - 1], ins.map((t, i) => (i === 0 || i === 2 ? tf.reshape(t, [c.B, 1, c.H * c.Tq, t.shape[3]]) : t)), { scale: 0.4, qStart: c.qStart, queries: c.Tq });
    assert.match(stages[0].key, /^mlaDecodeLatent_/, 'the latent shader takes it');
    const got = withSimulated(LATENT, () => decodeAttention(nan.terms, nan.v, nan.opts));
    const diff = maxAbsDiff(got, want);
    assert.ok(diff < 2e-5, `max |shader − reference| = ${diff}`);
  });
}

test('the latent shader takes absorbed MLA (values = the first key term, every key shared) and nothing else; off, or past the device\'s workgroup memory, the general shader runs', async () => {
  await useCpu();
  const keysFor = (kernels: typeof DECODE_ATTENTION_KERNELS, c: Case) => {
    const { terms, v, opts } = inputs(c, 0);
    const fold = (t: tf.Tensor4D) => (c.vIsK0 ? tf.reshape(t, [c.B, 1, c.H * c.G * c.Tq, t.shape[3]]) : t);
    const ins = terms.flatMap((t) => [fold(t.q), t.k]).concat([v]);
    return kernelStages(kernels[c.terms.length - 1], ins, { scale: opts.scale, qStart: c.qStart, queries: c.Tq }).map((st) => st.key);
  };
  assert.deepEqual(keysFor(LATENT, LATENT_CASES[1]), ['mlaDecodeLatent_341_16'], '6 tiles: one pass');
  assert.deepEqual(keysFor(LATENT, LATENT_CASES[2]), ['mlaDecodeLatent_341_16_split', 'mlaDecodeCombine_341']);
  assert.match(keysFor(GENERAL, LATENT_CASES[0])[0], /^mlaDecodeAttn_/, 'MLA_WEBGPU_DECODE_LATENT=off, the default');
  // MQA shares one key and value, but they are different tensors: the general shader.
  assert.match(keysFor(LATENT, CASES[7])[0], /^mlaDecodeAttn_/);
  assert.match(latentUnsupported([[1, 1, 20, 20]], [[1, 1, 64, 20]], [1, 1, 64, 130], false) ?? '', /not the first key term/);
  assert.match(latentUnsupported([[1, 1, 1, 600]], [[1, 1, 64, 600]], [1, 1, 64, 600], true) ?? '', /score width 600 > 512/);
  // A device with WebGPU's default 16 KiB of workgroup memory: the 35M latent tile does not fit (33 KiB).
  const plan = latentPlan([[1, 1, 16, 341], [1, 1, 16, 16]], [1, 1, 640, 341]);
  assert.ok(latentWorkgroupBytes(plan) > 16384 && latentWorkgroupBytes(plan) <= 49152, `${latentWorkgroupBytes(plan)} bytes`);
  const backend = tf.backend() as unknown as { device?: unknown };
  backend.device = { limits: { maxComputeWorkgroupStorageSize: 16384 } };
  try {
    assert.match(keysFor(LATENT, LATENT_CASES[0])[0], /^mlaDecodeAttn_/);
  } finally {
    delete backend.device;
  }
  // Splits: 16-key tiles, 4 a split at least, 1,024 workgroups aimed at. Batch 1 at 32k: 512 splits of 4 tiles;
  // batch 16: 64 splits of 32 tiles; batch 64 at 8k: 16 splits of 32; 512 keys at batch 1: 8.
  const at = (B: number, keys: number) => latentPlan([[B, 1, 16, 341], [B, 1, 16, 16]], [B, 1, keys, 341]);
  assert.equal(latentSplits(at(1, 32832), latentTiles(32832, 32767, 1)), 512);
  assert.equal(latentSplits(at(16, 32832), latentTiles(32832, 32767, 1)), 64);
  assert.equal(latentSplits(at(64, 8256), latentTiles(8256, 8191, 1)), 16);
  assert.equal(latentSplits(at(1, 640), latentTiles(640, 511, 1)), 8);
  assert.equal(latentMaxSplits(at(1, 640)), 10, 'capacity: 40 tiles of 16 in splits of 4');
});

test('staged keys (MLA_WEBGPU_DECODE_STAGE): their own pipeline, and the direct reads where the chunk passes the device\'s workgroup memory', async () => {
  await useCpu();
  const plan = (stage: boolean) => decodePlan([[1, 1, 16, 341], [1, 1, 16, 16]], [[1, 1, 512, 341], [1, 1, 512, 16]], [1, 1, 512, 341], 1, stage);
  assert.match(decodeKey(plan(true)), /_st$/);
  assert.doesNotMatch(decodeKey(plan(false)), /_st$/);
  // 35M absorbed: 8 rows × (357 + 64 + 3) floats, and the staged chunk's 64 × 33 on top: 13.6 KB → 22.0 KB.
  assert.deepEqual([decodeWorkgroupBytes(plan(false)), decodeWorkgroupBytes(plan(true))], [13568, 22016]);
  const { terms, v, opts } = inputs(LATENT_CASES[0], 0);
  const ins = terms.flatMap((t) => [tf.reshape(t.q, [2, 1, 16, t.q.shape[3]]), t.k]).concat([v]);
  const key = () => kernelStages(STAGED[1], ins, { scale: opts.scale, qStart: 150, queries: 1 })[0].key;
  assert.match(key(), /_st(_split)?$/);
  const backend = tf.backend() as unknown as { device?: unknown };
  backend.device = { limits: { maxComputeWorkgroupStorageSize: 16384 } };
  try {
    assert.doesNotMatch(key(), /_st/, 'WebGPU\'s default 16 KiB: the direct reads');
  } finally {
    delete backend.device;
  }
  tf.dispose(ins);
});
