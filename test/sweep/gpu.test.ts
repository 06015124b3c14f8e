// --gpu K: GPU K in PCI address order (the Vulkan loader's order for identical GPUs, and nvidia-smi's), pinned
// through Mesa's device-select layer by PCI address. Checked here on a fake sysfs; on real GPUs with
// `mla worker --gpu K --backend webgpu --dry-run`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { driPrimeTag, findDeviceSelectLayer, gpuPinning, listPciGpus, samePciAddress } from '../../lib/sweep/gpu';
import { mla, tempDir } from './helpers';

function fakeSysfs(devices: Record<string, { class: string; vendor: string; device: string }>): string {
  const root = tempDir('mla-sysfs-');
  for (const [addr, d] of Object.entries(devices)) {
    fs.mkdirSync(path.join(root, addr));
    for (const [k, v] of Object.entries(d)) fs.writeFileSync(path.join(root, addr, k), `${v}\n`);
  }
  return root;
}

test('GPUs are numbered by PCI address, BMC graphics and non-display devices skipped', () => {
  const h200 = { class: '0x030200', vendor: '0x10de', device: '0x2335' };
  const sysfs = fakeSysfs({
    '0000:c1:00.0': h200,
    '0000:19:00.0': h200,
    '0000:02:00.0': { class: '0x030000', vendor: '0x1a03', device: '0x2000' }, // ASPEED BMC VGA
    '0000:41:00.0': h200,
    '0000:00:01.0': { class: '0x020000', vendor: '0x8086', device: '0x1234' }, // a NIC
  });
  assert.deepEqual(listPciGpus(sysfs).map((g) => g.address), ['0000:19:00.0', '0000:41:00.0', '0000:c1:00.0']);
  // The host's own Vulkan layers (XDG_DATA_DIRS defaults to /usr/share) must not leak into the check.
  const pin = gpuPinning(1, { sysfs, env: { HOME: sysfs, XDG_DATA_DIRS: path.join(sysfs, 'none') } });
  assert.equal(pin.gpu.address, '0000:41:00.0');
  assert.deepEqual(pin.env, { DRI_PRIME: 'pci-0000_41_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1', CUDA_DEVICE_ORDER: 'PCI_BUS_ID', CUDA_VISIBLE_DEVICES: '1' });
  assert.equal(pin.layer, undefined);
  assert.match(pin.notes[0], /device-select layer .* is not installed/);
  assert.throws(() => gpuPinning(3, { sysfs }), /--gpu 3: this machine shows 3 GPU\(s\): 0: 0000:19:00\.0, 1: 0000:41:00\.0, 2: 0000:c1:00\.0/);
  fs.rmSync(sysfs, { recursive: true, force: true });
});

test('the layer manifest is found in the loader\'s implicit layer folders; PCI addresses compare across spellings', () => {
  const home = tempDir('mla-home-');
  const dir = path.join(home, '.local/share/vulkan/implicit_layer.d');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'VkLayer_MESA_device_select.json'), '{}');
  assert.equal(findDeviceSelectLayer({ HOME: home, XDG_DATA_DIRS: path.join(home, 'none') }), path.join(dir, 'VkLayer_MESA_device_select.json'));
  assert.equal(driPrimeTag('0000:41:00.0'), 'pci-0000_41_00_0');
  assert.ok(samePciAddress('00000000:41:00.0', '0000:41:00.0'));
  assert.ok(!samePciAddress('00000000:42:00.0', '0000:41:00.0'));
  fs.rmSync(home, { recursive: true, force: true });
});

test('mla worker --gpu on a machine without that GPU says which GPUs it has', () => {
  const r = mla(['worker', '--gpu', '7', '--dry-run']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /mla: --gpu 7: this machine shows \d+ GPU\(s\)/);
});
