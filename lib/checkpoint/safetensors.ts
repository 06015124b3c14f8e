// The safetensors format, written from its specification, on plain typed arrays (no tf needed):
//   bytes 0..8        N, the header length, unsigned 64-bit little-endian
//   bytes 8..8+N      a UTF-8 JSON object { name: { dtype, shape, data_offsets: [begin, end] }, ...,
//                     "__metadata__": { string: string } }, padded with spaces so the data is 8-byte aligned
//   bytes 8+N..       the data buffer: every tensor's raw little-endian values, row-major, at
//                     [begin, end) relative to the start of this buffer, with no gaps and nothing after the last
// Reading checks every claim of the header against the file before a byte of data is trusted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { writeAll, writeFileAtomicWith } from './atomic';
import { CheckpointError } from './errors';

export type SafetensorsDtype = 'F32' | 'F64' | 'I32' | 'I64' | 'U32' | 'U8';
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint32Array | Uint8Array;

export interface RawTensor {
  /** Inferred from the array type when omitted on writing. */
  dtype?: SafetensorsDtype;
  shape: readonly number[];
  data: TensorData;
}

export interface SafetensorsContent {
  tensors: Record<string, Required<RawTensor>>;
  metadata: Record<string, string>;
}

interface DtypeInfo {
  bytes: number;
  /** A typed array of `n` elements over a fresh, aligned buffer. */
  alloc(n: number): TensorData;
  matches(a: TensorData): boolean;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  F32: { bytes: 4, alloc: (n) => new Float32Array(n), matches: (a) => a instanceof Float32Array },
  F64: { bytes: 8, alloc: (n) => new Float64Array(n), matches: (a) => a instanceof Float64Array },
  I32: { bytes: 4, alloc: (n) => new Int32Array(n), matches: (a) => a instanceof Int32Array },
  I64: { bytes: 8, alloc: (n) => new BigInt64Array(n), matches: (a) => a instanceof BigInt64Array },
  U32: { bytes: 4, alloc: (n) => new Uint32Array(n), matches: (a) => a instanceof Uint32Array },
  U8: { bytes: 1, alloc: (n) => new Uint8Array(n), matches: (a) => a instanceof Uint8Array },
};
export const SUPPORTED_DTYPES = Object.keys(DTYPES) as SafetensorsDtype[];

/** The reference implementation refuses headers above 100 MB; a larger length means a corrupt file. */
export const MAX_HEADER_BYTES = 100_000_000;

function checkHostEndianness(): void {
  // Typed arrays use the host's byte order and safetensors is little-endian; every platform Node ships on
  // today is little-endian, so refuse the rest rather than silently byte-swap.
  if (os.endianness() !== 'LE') throw new CheckpointError('safetensors I/O needs a little-endian host');
}

export function dtypeOf(data: TensorData): SafetensorsDtype {
  for (const d of SUPPORTED_DTYPES) if (DTYPES[d].matches(data)) return d;
  throw new CheckpointError(`unsupported array type ${(data as object).constructor.name}; use one of ${SUPPORTED_DTYPES.join(', ')}`);
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface PlannedTensor {
  name: string;
  bytes: Uint8Array;
}

/** Checks the tensors, lays them out back to back, and builds the padded header. */
function plan(tensors: Record<string, RawTensor>, metadata: Record<string, string>): { header: Buffer; body: PlannedTensor[] } {
  const json: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new CheckpointError(`metadata '${k}' must be a string, got ${typeof v}; JSON.stringify it first`);
  }
  if (Object.keys(metadata).length) json.__metadata__ = metadata;
  const body: PlannedTensor[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new CheckpointError("'__metadata__' is reserved and cannot name a tensor");
    const dtype = t.dtype ?? dtypeOf(t.data);
    const info = DTYPES[dtype];
    if (!info) throw new CheckpointError(`tensor '${name}' has unsupported dtype ${dtype}; use one of ${SUPPORTED_DTYPES.join(', ')}`);
    if (!info.matches(t.data)) throw new CheckpointError(`tensor '${name}' is declared ${dtype} but holds a ${t.data.constructor.name}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new CheckpointError(`tensor '${name}' has a bad shape [${t.shape}]`);
    if (numel(t.shape) !== t.data.length) {
      throw new CheckpointError(`tensor '${name}' has shape [${t.shape}] (${numel(t.shape)} values) but ${t.data.length} values`);
    }
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    json[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    body.push({ name, bytes });
  }
  let text = JSON.stringify(json);
  // Pad with spaces (legal JSON whitespace) so the data buffer starts 8-byte aligned, as the reference writer does.
  const len = Buffer.byteLength(text, 'utf8');
  text += ' '.repeat((8 - ((8 + len) % 8)) % 8);
  const header = Buffer.alloc(8 + Buffer.byteLength(text, 'utf8'));
  header.writeBigUInt64LE(BigInt(header.length - 8), 0);
  header.write(text, 8, 'utf8');
  return { header, body };
}

/** The whole file as one buffer (for small tensors and tests). */
export function encodeSafetensors(tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): Buffer {
  checkHostEndianness();
  const { header, body } = plan(tensors, metadata);
  return Buffer.concat([header, ...body.map((b) => b.bytes)]);
}

/** Writes a safetensors file atomically (temporary file, fsync, rename): `file` is never half-written. */
export function writeSafetensors(file: string, tensors: Record<string, RawTensor>, metadata: Record<string, string> = {}): void {
  checkHostEndianness();
  const { header, body } = plan(tensors, metadata);
  writeFileAtomicWith(file, (fd) => {
    writeAll(fd, header);
    // Tensor by tensor, so a 1 GB model is never copied into one buffer.
    for (const b of body) writeAll(fd, b.bytes);
  });
}

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Byte offset of the data buffer in the file (8 + header length). */
  dataStart: number;
  /** Bytes the header's offsets say the data buffer holds. */
  dataBytes: number;
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** Parses and checks the header against a file of `fileSize` bytes. `label` names the file in errors. */
function parseHeader(prefix: Buffer, headerLen: number, fileSize: number, label: string): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(prefix.toString('utf8'));
  } catch (err) {
    throw new CheckpointError(`${label} is not a safetensors file: its header is not valid JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CheckpointError(`${label} is not a safetensors file: its header is not a JSON object`);
  }
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new CheckpointError(`${label}: metadata '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(checkEntry(name, raw, label));
  }
  // The data buffer must be covered exactly: sorted by offset, each tensor starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let expect = 0;
  for (const e of sorted) {
    if (e.begin !== expect) {
      throw new CheckpointError(`${label} is corrupt: tensor '${e.name}' starts at byte ${e.begin} of the data, expected ${expect} (gap or overlap)`);
    }
    expect = e.end;
  }
  const dataStart = 8 + headerLen;
  const found = fileSize - dataStart;
  if (found < expect) throw new CheckpointError(`file ${label} is truncated: header says ${expect} bytes of data, found ${found}`);
  if (found > expect) {
    throw new CheckpointError(`file ${label} is corrupt: ${found - expect} bytes follow the last tensor (header says ${expect} bytes of data)`);
  }
  return { dataStart, dataBytes: expect, entries, metadata };
}

function checkEntry(name: string, raw: unknown, label: string): HeaderEntry {
  const bad = (why: string) => new CheckpointError(`${label}: tensor '${name}' ${why}`);
  if (!raw || typeof raw !== 'object') throw bad('has no {dtype, shape, data_offsets} entry');
  const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string' || !(dtype in DTYPES)) {
    throw bad(`has dtype ${JSON.stringify(dtype)}; this reader supports ${SUPPORTED_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`has a bad shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    throw bad(`has bad data_offsets ${JSON.stringify(offsets)}`);
  }
  const info = DTYPES[dtype as SafetensorsDtype];
  const want = numel(shape) * info.bytes;
  if (offsets[1] - offsets[0] !== want) {
    throw bad(`of shape [${shape}] ${dtype} needs ${want} bytes but its data_offsets span ${offsets[1] - offsets[0]}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape, begin: offsets[0], end: offsets[1] };
}

function readExactly(fd: number, into: Uint8Array, position: number, label: string): void {
  let off = 0;
  while (off < into.byteLength) {
    const n = fs.readSync(fd, into, off, into.byteLength - off, position + off);
    if (n === 0) throw new CheckpointError(`file ${label} is truncated: it ended while reading byte ${position + off}`);
    off += n;
  }
}

function openForRead(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CheckpointError(`checkpoint file ${file} does not exist`);
    throw new CheckpointError(`cannot open checkpoint file ${file}: ${(err as Error).message}`);
  }
  const stat = fs.fstatSync(fd);
  // Linux opens a folder for reading without complaint; the first read would fail with a bare EISDIR.
  if (stat.isDirectory()) {
    fs.closeSync(fd);
    throw new CheckpointError(`${file} is a folder, not a checkpoint file; pass its .safetensors file (a run's is checkpoint/step-N/model.safetensors)`);
  }
  return { fd, size: stat.size };
}

function readHeaderFd(fd: number, size: number, label: string): SafetensorsHeader {
  if (size < 8) throw new CheckpointError(`file ${label} is truncated: it has ${size} bytes, fewer than the 8-byte header length`);
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, label);
  const n = lenBuf.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(`${label} is not a safetensors file: its header length field says ${n} bytes (limit ${MAX_HEADER_BYTES})`);
  }
  const headerLen = Number(n);
  if (8 + headerLen > size) {
    throw new CheckpointError(`file ${label} is truncated: header says ${headerLen} bytes of header, found ${size - 8}`);
  }
  const prefix = Buffer.alloc(headerLen);
  readExactly(fd, prefix, 8, label);
  return parseHeader(prefix, headerLen, size, label);
}

/** The header (names, dtypes, shapes, metadata) of a file without reading its data. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const { fd, size } = openForRead(file);
  try {
    return readHeaderFd(fd, size, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a whole safetensors file; each tensor gets its own aligned array (no views into a shared buffer). */
export function readSafetensors(file: string): SafetensorsContent {
  checkHostEndianness();
  const { fd, size } = openForRead(file);
  try {
    const header = readHeaderFd(fd, size, file);
    const tensors: SafetensorsContent['tensors'] = {};
    for (const e of header.entries) {
      const data = DTYPES[e.dtype].alloc(numel(e.shape));
      readExactly(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.dataStart + e.begin, file);
      tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** Parses an in-memory safetensors file. */
export function decodeSafetensors(buf: Uint8Array, label = '<buffer>'): SafetensorsContent {
  checkHostEndianness();
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8) throw new CheckpointError(`file ${label} is truncated: it has ${b.length} bytes, fewer than the 8-byte header length`);
  const n = b.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError(`${label} is not a safetensors file: its header length field says ${n} bytes (limit ${MAX_HEADER_BYTES})`);
  }
  const headerLen = Number(n);
  if (8 + headerLen > b.length) throw new CheckpointError(`file ${label} is truncated: header says ${headerLen} bytes of header, found ${b.length - 8}`);
  const header = parseHeader(b.subarray(8, 8 + headerLen), headerLen, b.length, label);
  const tensors: SafetensorsContent['tensors'] = {};
  for (const e of header.entries) {
    const data = DTYPES[e.dtype].alloc(numel(e.shape));
    new Uint8Array(data.buffer).set(b.subarray(header.dataStart + e.begin, header.dataStart + e.end));
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata: header.metadata };
}
