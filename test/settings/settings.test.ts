// Runtime settings: one pure parse of an environment object, the documented defaults, one error class naming
// the variable, the value and what is allowed, and the backend part recorded by describeBackend().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../lib/config/validate';
import { describeBackend, initBackend } from '../../lib/backend';
import { dawnCreateFlags } from '../../lib/backend/webgpu/init';
import { BACKEND_VARIABLES, FUSED_GROUPS, NOTEBOOK_VARIABLES, SettingsError, arrayIndexFromEnv, backendSettingsFromEnv, notebookSettingsFromEnv, backendSettings, settingsFromEnv } from '../../lib/settings';

test('an empty environment gives the documented defaults', () => {
  const s = settingsFromEnv({});
  assert.deepEqual(s.backend, {
    choice: 'auto',
    cpu: { native: true, threads: null, keepFreedMB: 1024, addonPath: null },
    webgpu: { fused: [...FUSED_GROUPS], matmul: 'tiled-wide', matmulShader: 'pipelined', matmulDepth: 8, flashRows: 2, flashTileKiB: 16, layoutMemo: true, bindGroupCache: true, submitBatch: 64, decodeSplitTiles: 1, decodeUnroll: 1, decodeStepRows: 16, decodeShader: 'auto', dawnFlags: [], timestamps: 'precise', nullDevice: false, decodeGraph: true, poolGiB: 48 },
  });
  assert.deepEqual(s.notebook, { scale: null, data: null, root: null, force: false, train: false, chromium: null });
  assert.equal(s.dataRoot, null);
  assert.equal(s.debug, false);
});

test('every variable is read under its name', () => {
  const s = settingsFromEnv({
    MLA_BACKEND: 'webgpu', MLA_NATIVE: '0', MLA_THREADS: '3', MLA_KEEP_FREED_MB: '0', MLA_NATIVE_ADDON: '/x.node',
    MLA_WEBGPU_FUSED: 'none', MLA_WEBGPU_MATMUL: 'tfjs', MLA_WEBGPU_MATMUL_SHADER: 'pipelined', MLA_WEBGPU_MATMUL_DEPTH: '16', MLA_WEBGPU_FLASH_TILE_KIB: '32', MLA_FLASH_ROWS: '2',
    MLA_WEBGPU_LAYOUT_MEMO: 'off', MLA_WEBGPU_BIND_GROUP_CACHE: 'off', MLA_WEBGPU_SUBMIT_BATCH: '15', MLA_WEBGPU_DECODE_SPLIT_TILES: '2', MLA_WEBGPU_DECODE_UNROLL: '4', MLA_WEBGPU_DECODE_SHADER: 'keys', MLA_WEBGPU_DECODE_STEP_ROWS: '64', MLA_WEBGPU_DECODE_LATENT: 'off', MLA_WEBGPU_DECODE_STAGE: 'off', MLA_WEBGPU_POOL_GIB: '0', MLA_WEBGPU_NULL_DEVICE: 'on', MLA_WEBGPU_DECODE_GRAPH: 'off',
    MLA_WEBGPU_DAWN_FLAGS: 'enable-dawn-features=a,b  other', MLA_WEBGPU_TIMESTAMPS: 'quantized', MLA_DATA_ROOT: '/d', MLA_SCALE: ' smoke ', MLA_DATA: 'wikitext2:/w',
    MLA_ROOT: '/r', MLA_FORCE: '1', MLA_TRAIN: '1', MLA_CHROMIUM: '/c', MLA_DEBUG: '1',
  });
  assert.deepEqual(s.backend, {
    choice: 'webgpu',
    cpu: { native: false, threads: 3, keepFreedMB: 0, addonPath: '/x.node' },
    webgpu: { fused: [], matmul: 'tfjs', matmulShader: 'pipelined', matmulDepth: 16, flashRows: 2, flashTileKiB: 32, layoutMemo: false, bindGroupCache: false, submitBatch: 15, decodeSplitTiles: 2, decodeUnroll: 4, decodeStepRows: 64, decodeShader: 'keys', dawnFlags: ['enable-dawn-features=a,b', 'other'], timestamps: 'quantized', nullDevice: true, decodeGraph: false, poolGiB: 0 },
  });
  assert.deepEqual(s.notebook, { scale: 'smoke', data: 'wikitext2:/w', root: '/r', force: true, train: true, chromium: '/c' });
  assert.equal(s.dataRoot, '/d');
  assert.equal(s.debug, true);
  assert.equal(settingsFromEnv({ MLA_BACKEND: 'cpu' }, { backend: 'tensorflow' }).backend.choice, 'tensorflow', '--backend over MLA_BACKEND');
  assert.deepEqual(settingsFromEnv({ MLA_WEBGPU_FUSED: 'loss,attention' }).backend.webgpu.fused, ['attention', 'loss']);
});

test('a bad value is one SettingsError (a ConfigError) naming the variable, the value and the allowed values', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ MLA_BACKEND: 'gpu' }, /^MLA_BACKEND='gpu' is refused: allowed: auto, cpu, webgpu, tensorflow/],
    [{ MLA_NATIVE: 'yes' }, /^MLA_NATIVE='yes' is refused: allowed: 1, 0/],
    [{ MLA_THREADS: '0' }, /^MLA_THREADS='0' is refused: allowed: a whole number from 1 to 1024/],
    [{ MLA_KEEP_FREED_MB: '4096' }, /^MLA_KEEP_FREED_MB='4096' is refused: allowed: a whole number from 0 to 2047/],
    [{ MLA_WEBGPU_FUSED: 'attention,softmax' }, /^MLA_WEBGPU_FUSED='attention,softmax' is refused: 'softmax' is not a group/],
    [{ MLA_WEBGPU_MATMUL: 'cublas' }, /^MLA_WEBGPU_MATMUL='cublas' is refused: allowed: tiled-wide, tiled, tfjs/],
    [{ MLA_WEBGPU_MATMUL_SHADER: 'fast' }, /^MLA_WEBGPU_MATMUL_SHADER='fast' is refused: allowed: pipelined \(default pipelined\)$/],
    [{ MLA_FLASH_ROWS: '4' }, /^MLA_FLASH_ROWS='4' is refused: allowed: 2 \(default 2\)$/],
    [{ MLA_WEBGPU_POOL_GIB: '2048' }, /^MLA_WEBGPU_POOL_GIB='2048' is refused: allowed: a whole number from 0 to 1024/],
    // Values of variants that lost and left the library (dev/README.md): refused, not silently replaced.
    [{ MLA_WEBGPU_MATMUL_SHADER: 'staged' }, /^MLA_WEBGPU_MATMUL_SHADER='staged' is refused: allowed: pipelined \(default pipelined\)$/],
    [{ MLA_WEBGPU_MATMUL_DEPTH: '32' }, /^MLA_WEBGPU_MATMUL_DEPTH='32' is refused: allowed: 8, 16 \(default 8\)$/],
    [{ MLA_FLASH_ROWS: '1' }, /^MLA_FLASH_ROWS='1' is refused: allowed: 2 \(default 2\)$/],
    [{ MLA_WEBGPU_DECODE_LATENT: 'on' }, /^MLA_WEBGPU_DECODE_LATENT='on' is refused: allowed: off \(default off\)$/],
    [{ MLA_WEBGPU_DECODE_STAGE: 'on' }, /^MLA_WEBGPU_DECODE_STAGE='on' is refused: allowed: off \(default off\)$/],
    [{ MLA_WEBGPU_LAYOUT_MEMO: 'yes' }, /^MLA_WEBGPU_LAYOUT_MEMO='yes' is refused: allowed: on, off/],
    [{ MLA_WEBGPU_BIND_GROUP_CACHE: '1' }, /^MLA_WEBGPU_BIND_GROUP_CACHE='1' is refused: allowed: on, off/],
    [{ MLA_WEBGPU_NULL_DEVICE: 'true' }, /^MLA_WEBGPU_NULL_DEVICE='true' is refused: allowed: on, off/],
    [{ MLA_WEBGPU_SUBMIT_BATCH: '1.5' }, /^MLA_WEBGPU_SUBMIT_BATCH='1.5' is refused: allowed: a whole number/],
    [{ MLA_WEBGPU_DECODE_UNROLL: '3' }, /^MLA_WEBGPU_DECODE_UNROLL='3' is refused: allowed: 1, 2, 4, 8 \(default 1\)$/],
    [{ MLA_WEBGPU_DECODE_SHADER: 'tile' }, /^MLA_WEBGPU_DECODE_SHADER='tile' is refused: allowed: auto, rows, tiled, piped, piped4, keys \(default auto\)$/],
    [{ MLA_WEBGPU_DECODE_STEP_ROWS: '0' }, /^MLA_WEBGPU_DECODE_STEP_ROWS='0' is refused: allowed: a whole number from 1 to 256/],
    [{ MLA_WEBGPU_TIMESTAMPS: 'exact' }, /^MLA_WEBGPU_TIMESTAMPS='exact' is refused: allowed: precise, quantized \(default precise\)$/],
    [{ MLA_WEBGPU_DECODE_SPLIT_TILES: '0' }, /^MLA_WEBGPU_DECODE_SPLIT_TILES='0' is refused: allowed: a whole number from 1 to 64/],
    [{ MLA_FORCE: 'true' }, /^MLA_FORCE='true' is refused: allowed: 1, 0/],
    [{ MLA_DEBUG: 'on' }, /^MLA_DEBUG='on' is refused: allowed: 1, 0/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => settingsFromEnv(env), (e: unknown) => e instanceof SettingsError && e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'), JSON.stringify(env));
  }
});

test('describeBackend() returns the settings initBackend got, with the call\'s CPU options over them', async () => {
  const s = backendSettings({ backend: 'cpu' });
  await initBackend({ ...s, webgpu: { ...s.webgpu, submitBatch: 7 } }, { native: false });
  const d = describeBackend();
  assert.equal(d.backend, 'cpu');
  assert.equal(d.backendSettings.choice, 'cpu');
  assert.equal(d.backendSettings.webgpu.submitBatch, 7);
  assert.equal(d.backendSettings.cpu.native, false);
  d.backendSettings.webgpu.fused.length = 0;
  assert.deepEqual(describeBackend().backendSettings.webgpu.fused, [...FUSED_GROUPS], 'a copy: the record cannot change what ran');
  await initBackend('cpu');
});

test('the process environment is parsed again only when a variable changed', () => {
  const before = process.env.MLA_WEBGPU_SUBMIT_BATCH;
  try {
    process.env.MLA_WEBGPU_SUBMIT_BATCH = '32';
    const a = backendSettings();
    assert.equal(a.webgpu.submitBatch, 32);
    assert.equal(backendSettings(), a, 'the same value while nothing changed');
    process.env.MLA_WEBGPU_SUBMIT_BATCH = '48';
    assert.equal(backendSettings().webgpu.submitBatch, 48);
  } finally {
    if (before === undefined) delete process.env.MLA_WEBGPU_SUBMIT_BATCH;
    else process.env.MLA_WEBGPU_SUBMIT_BATCH = before;
  }
});

test('arrayIndexFromEnv reads Slurm before Kubernetes, treats empty as unset and refuses a non-index by name', () => {
  assert.equal(arrayIndexFromEnv({}), undefined);
  assert.equal(arrayIndexFromEnv({ SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' }), undefined);
  assert.deepEqual(arrayIndexFromEnv({ JOB_COMPLETION_INDEX: '7' }), { index: 7, variable: 'JOB_COMPLETION_INDEX' });
  assert.deepEqual(arrayIndexFromEnv({ SLURM_ARRAY_TASK_ID: '3', JOB_COMPLETION_INDEX: '7' }), { index: 3, variable: 'SLURM_ARRAY_TASK_ID' });
  assert.throws(() => arrayIndexFromEnv({ SLURM_ARRAY_TASK_ID: '1-4' }), (e: Error) => e instanceof SettingsError && /SLURM_ARRAY_TASK_ID='1-4'/.test(e.message));
});

test('the memo of each settings part watches every variable its parse reads', () => {
  const readBy = (parse: (env: Record<string, string | undefined>) => unknown): string[] => {
    const names = new Set<string>();
    parse(new Proxy({}, { get: (_t, k) => (names.add(String(k)), undefined) }));
    return [...names].sort();
  };
  assert.deepEqual(readBy((env) => backendSettingsFromEnv(env)), [...BACKEND_VARIABLES].sort());
  assert.deepEqual(readBy(notebookSettingsFromEnv), [...NOTEBOOK_VARIABLES].sort());
});

test("dawnCreateFlags: precise timestamps disable Dawn's timestamp_quantization, merged into the user's one disable-dawn-features flag", () => {
  assert.deepEqual(dawnCreateFlags([], 'precise'), ['disable-dawn-features=timestamp_quantization']);
  assert.deepEqual(dawnCreateFlags(['enable-dawn-features=allow_unsafe_apis'], 'quantized'), ['enable-dawn-features=allow_unsafe_apis']);
  // Dawn's binding keeps one value per flag name: a second disable-dawn-features would drop the user's toggles.
  assert.deepEqual(dawnCreateFlags(['enable-dawn-features=a', 'disable-dawn-features=lazy_clear_resource_on_first_use'], 'precise'),
    ['enable-dawn-features=a', 'disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization']);
  assert.deepEqual(dawnCreateFlags(['disable-dawn-features=timestamp_quantization'], 'precise'), ['disable-dawn-features=timestamp_quantization']);
});
