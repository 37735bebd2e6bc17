"""A small reader/writer for the safetensors format (8-byte little-endian header
length, a JSON header of {name: {dtype, shape, data_offsets}}, then raw bytes)."""
import json
import struct

import numpy as np

import ember.core as mx

_TO_ST = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int8": "I8",
          "int16": "I16", "int32": "I32", "int64": "I64", "uint8": "U8", "uint16": "U16",
          "uint32": "U32", "uint64": "U64", "bool": "BOOL", "complex64": "C64"}
_FROM_ST = {v: k for k, v in _TO_ST.items()}


def save(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, a in tensors.items():
        dt = str(a.dtype)
        if dt == "bfloat16":  # numpy has no bfloat16: store the raw 16-bit patterns
            raw = (np.asarray(a.astype(mx.float32)).view(np.uint32) >> 16).astype(np.uint16).tobytes()
        else:
            raw = np.ascontiguousarray(np.asarray(a)).tobytes()
        header[name] = {"dtype": _TO_ST[dt], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = _FROM_ST[info["dtype"]]
        lo, hi = info["data_offsets"]
        buf = data[base + lo: base + hi]
        shape = tuple(info["shape"])
        if dt == "bfloat16":
            bits = np.frombuffer(buf, np.uint16).astype(np.uint32) << 16
            out[name] = mx.array(bits.view(np.float32).reshape(shape)).astype(mx.bfloat16)
        else:
            np_dt = np.bool_ if dt == "bool" else np.dtype(dt)
            out[name] = mx.array(np.frombuffer(buf, np_dt).reshape(shape))
    return out
