// The safetensors reader/writer against the format's specification: byte layout, bit-exact round trips, and a
// clear error for every way a file can be broken.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, readSafetensors, readSafetensorsHeader, writeSafetensors,
} from '../../lib/checkpoint/safetensors';
import { writeFileAtomicWith } from '../../lib/checkpoint/atomic';

const dirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-st-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function awkwardFloats(): Float32Array {
  // Values a lossy path (JSON, float64 round trip with rounding, text) would change: NaN with a payload, -0,
  // infinities, subnormals, and random bit patterns.
  const bits = new Uint32Array([0x7fc00001, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x3f800001]);
  const out = new Float32Array(64);
  new Uint32Array(out.buffer).set(bits);
  let s = 12345;
  for (let i = bits.length; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    new Uint32Array(out.buffer)[i] = s & 0x7f7fffff;
  }
  return out;
}

const sameBits = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

test('round trip through a file is bit-exact for every dtype, including NaN payloads and -0', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'x.safetensors');
  const tensors = {
    f32: { shape: [8, 8], data: awkwardFloats() },
    f64: { shape: [3], data: new Float64Array([Math.PI, -0, 1e-310]) },
    i32: { shape: [2, 2], data: new Int32Array([-2147483648, 2147483647, 0, -1]) },
    i64: { shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    u32: { shape: [1], data: new Uint32Array([4294967295]) },
    u8: { shape: [3], data: new Uint8Array([0, 128, 255]) },
    scalar: { shape: [], data: new Float32Array([2.5]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
  };
  writeSafetensors(file, tensors, { note: 'hello', config: '{"a":1}' });
  const back = readSafetensors(file);
  assert.deepEqual(back.metadata, { note: 'hello', config: '{"a":1}' });
  assert.deepEqual(Object.keys(back.tensors).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name];
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(b.data.constructor, t.data.constructor, name);
    assert.ok(sameBits(b.data, t.data), `${name} differs after the round trip`);
  }
  assert.deepEqual(fs.readdirSync(dir), ['x.safetensors'], 'no temporary file is left behind');
});

test('the byte layout follows the spec: u64 LE header length, JSON header, 8-byte aligned data, offsets relative to the data', () => {
  const a = new Float32Array([1, 2, 3]);
  const b = new Int32Array([7]);
  const buf = encodeSafetensors({ a: { shape: [3], data: a }, b: { shape: [1], data: b } }, { k: 'v' });
  const n = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  assert.deepEqual(header.__metadata__, { k: 'v' });
  assert.deepEqual(header.a, { dtype: 'F32', shape: [3], data_offsets: [0, 12] });
  assert.deepEqual(header.b, { dtype: 'I32', shape: [1], data_offsets: [12, 16] });
  assert.equal(buf.length, 8 + n + 16);
  assert.equal(buf.readFloatLE(8 + n + 8), 3);
  assert.equal(buf.readInt32LE(8 + n + 12), 7);
});

test('reads a file built by hand from the spec (unpadded header, tensors in reverse order)', () => {
  const header = JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] }, s: { dtype: 'U8', shape: [4], data_offsets: [0, 4] } });
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  const data = Buffer.alloc(12);
  data.set([9, 8, 7, 6], 0);
  data.writeFloatLE(-1.5, 4);
  data.writeFloatLE(0.25, 8);
  const got = decodeSafetensors(Buffer.concat([len, Buffer.from(header), data]));
  assert.deepEqual([...got.tensors.w.data], [-1.5, 0.25]);
  assert.deepEqual([...got.tensors.s.data], [9, 8, 7, 6]);
  assert.deepEqual(got.metadata, {});
});

function writeRaw(file: string, bytes: Buffer): void {
  fs.writeFileSync(file, bytes);
}

test('a truncated file is reported with the bytes the header promises and the bytes found', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'cut.safetensors');
  const full = encodeSafetensors({ w: { shape: [100], data: new Float32Array(100) } });
  writeRaw(file, full.subarray(0, full.length - 10));
  assert.throws(() => readSafetensors(file), (e: Error) => {
    assert.equal(e.name, 'CheckpointError');
    assert.match(e.message, new RegExp(`file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is truncated: header says 400 bytes of data, found 390`));
    return true;
  });
  writeRaw(file, full.subarray(0, 5));
  assert.throws(() => readSafetensors(file), /truncated: it has 5 bytes/);
  writeRaw(file, full.subarray(0, 20));
  assert.throws(() => readSafetensors(file), /truncated: header says \d+ bytes of header, found 12/);
});

test('corrupt files fail with a message naming the problem', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'bad.safetensors');
  const withHeader = (h: string, dataBytes: number) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(h)));
    writeRaw(file, Buffer.concat([len, Buffer.from(h), Buffer.alloc(dataBytes)]));
  };
  withHeader('{not json', 0);
  assert.throws(() => readSafetensors(file), /header is not valid JSON/);
  withHeader(JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }), 4);
  assert.throws(() => readSafetensors(file), /tensor 'w' of shape \[2\] F32 needs 8 bytes but its data_offsets span 4/);
  withHeader(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }), 8);
  assert.throws(() => readSafetensors(file), /'w' starts at byte 4 of the data, expected 0/);
  withHeader(JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }), 6);
  assert.throws(() => readSafetensors(file), /2 bytes follow the last tensor/);
  withHeader(JSON.stringify({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }), 1);
  assert.throws(() => readSafetensors(file), /dtype "Q4"/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(2n ** 40n);
  writeRaw(file, huge);
  assert.throws(() => readSafetensors(file), /header length field says 1099511627776 bytes/);
  assert.throws(() => readSafetensors(path.join(dir, 'missing.safetensors')), /missing\.safetensors does not exist/);
});

test('the writer refuses inconsistent tensors and non-string metadata', () => {
  assert.throws(() => encodeSafetensors({ w: { shape: [3], data: new Float32Array(2) } }), /shape \[3\] \(3 values\) but 2 values/);
  assert.throws(() => encodeSafetensors({ w: { dtype: 'I32', shape: [1], data: new Float32Array(1) } }), /declared I32 but holds a Float32Array/);
  assert.throws(() => encodeSafetensors({}, { n: 3 as unknown as string }), /metadata 'n' must be a string/);
});

test('readSafetensorsHeader gives shapes and metadata without the data', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'h.safetensors');
  writeSafetensors(file, { w: { shape: [4, 5], data: new Float32Array(20) } }, { config: 'x' });
  const h = readSafetensorsHeader(file);
  assert.deepEqual(h.entries.map((e) => [e.name, e.dtype, e.shape]), [['w', 'F32', [4, 5]]]);
  assert.equal(h.dataBytes, 80);
  assert.equal(h.metadata.config, 'x');
});

test('a write that fails midway leaves the previous file intact and no temporary file', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'good.safetensors');
  writeSafetensors(file, { w: { shape: [2], data: new Float32Array([1, 2]) } });
  const before = fs.readFileSync(file);
  assert.throws(() =>
    writeFileAtomicWith(file, (fd) => {
      fs.writeSync(fd, Buffer.from('partial'));
      throw new Error('disk gone');
    }), /disk gone/);
  assert.ok(fs.readFileSync(file).equals(before), 'the good file is untouched');
  assert.deepEqual(fs.readdirSync(dir), ['good.safetensors']);
});
