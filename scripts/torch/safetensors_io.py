"""Reads safetensors files without the `safetensors` package (not installed on every machine we use).

Layout, from the format's specification:
  bytes 0..8      N, the header length, unsigned 64-bit little-endian
  bytes 8..8+N    UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}
  bytes 8+N..     the data buffer; each tensor's raw little-endian row-major values at [begin, end)
"""
import json
import struct
import sys

import numpy as np
import torch

# numpy dtypes that read a safetensors dtype directly ('<' pins little-endian whatever the host).
NUMPY_DTYPES = {
    'F64': '<f8',
    'F32': '<f4',
    'F16': '<f2',
    'I64': '<i8',
    'I32': '<i4',
    'I16': '<i2',
    'I8': 'i1',
    'U8': 'u1',
    'BOOL': '?',
}
# The reference implementation refuses larger headers; a larger length means a corrupt or foreign file.
MAX_HEADER_BYTES = 100000000


class CheckpointError(Exception):
    """A checkpoint file that cannot be read or does not fit the model; the message names the file and tensor."""


def _to_torch(name, dtype, raw, shape, path):
    if dtype == 'BF16':
        # numpy has no bfloat16: widen the 16 stored bits into the high half of a float32.
        bits = np.frombuffer(raw, dtype='<u2').astype(np.uint32) << 16
        arr = bits.view(np.float32)
    elif dtype in NUMPY_DTYPES:
        arr = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype])
    else:
        raise CheckpointError('%s: tensor %r has dtype %s, which this reader does not support (use one of %s, BF16)'
                              % (path, name, dtype, ', '.join(sorted(NUMPY_DTYPES))))
    if arr.size != int(np.prod(shape)):
        raise CheckpointError('%s: tensor %r has %d %s values for shape %s' % (path, name, arr.size, dtype, shape))
    # .copy(): frombuffer views are read-only and torch wants writable memory in native byte order.
    return torch.from_numpy(arr.astype(arr.dtype.newbyteorder('='), copy=True).reshape(shape))


def read_safetensors(path):
    """Returns ({name: torch.Tensor}, metadata dict) after checking every header claim against the file."""
    try:
        with open(path, 'rb') as f:
            blob = f.read()
    except OSError as e:
        raise CheckpointError('cannot read checkpoint %s: %s' % (path, e))
    if len(blob) < 8:
        raise CheckpointError('%s is %d bytes, too short for a safetensors file' % (path, len(blob)))
    (n,) = struct.unpack('<Q', blob[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(blob):
        raise CheckpointError('%s: header length %d does not fit the %d-byte file (not a safetensors file?)'
                              % (path, n, len(blob)))
    try:
        header = json.loads(blob[8:8 + n].decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError('%s: the header is not valid JSON (%s)' % (path, e))
    metadata = header.pop('__metadata__', None) or {}
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        if not (0 <= begin <= end <= len(data)):
            raise CheckpointError('%s: tensor %r claims bytes [%d, %d) of a %d-byte data buffer'
                                  % (path, name, begin, end, len(data)))
        shape = [int(d) for d in info['shape']]
        tensors[name] = _to_torch(name, info['dtype'], data[begin:end], shape, path)
    return tensors, metadata


if __name__ == '__main__':
    # Quick look at a file: python3 safetensors_io.py FILE
    t, meta = read_safetensors(sys.argv[1])
    print(json.dumps({'metadata': meta, 'tensors': {k: [str(v.dtype), list(v.shape)] for k, v in t.items()}}, indent=1))
