"""Reading and writing weight files for Module.save_weights / load_weights: ``.npz``
and ``.safetensors``. The core's mx.save_safetensors / mx.savez / mx.load are used when
ember.core has them; until then a small Python reader / writer of the same formats
(safetensors: 8-byte little-endian header length, a JSON header of
{name: {dtype, shape, data_offsets}}, then raw bytes)."""
import json
import os
import struct

import ember.core as mx


def save(path, tensors):
    """Writes the dict of arrays `tensors` to `path` (.npz or .safetensors)."""
    if path.endswith(".safetensors"):
        if hasattr(mx, "save_safetensors"):
            return mx.save_safetensors(path, tensors)
        return _save_safetensors(path, tensors)
    if path.endswith(".npz"):
        if hasattr(mx, "savez"):
            return mx.savez(path, **tensors)
        import numpy as np

        return np.savez(path, **{k: _to_numpy(v) for k, v in tensors.items()})
    raise ValueError(f"[save_weights] Unsupported file type {os.path.splitext(path)[1]!r} for "
                     f"{path!r}; use .npz or .safetensors.")


def load(path):
    """The dict of arrays in `path` (.npz or .safetensors)."""
    if not path.endswith((".npz", ".safetensors")):
        raise ValueError(f"[load_weights] Unsupported file type {os.path.splitext(path)[1]!r} for "
                         f"{path!r}; use .npz or .safetensors.")
    if hasattr(mx, "load"):
        return dict(mx.load(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"[load_weights] No such file: {path!r}.")
    if path.endswith(".safetensors"):
        return _load_safetensors(path)
    import numpy as np

    with np.load(path) as data:
        return {k: mx.array(data[k]) for k in data.files}


def _to_numpy(a):
    import numpy as np

    return np.asarray(a.astype(mx.float32)) if a.dtype == mx.bfloat16 else np.asarray(a)

_TO_ST = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16", "int8": "I8",
          "int16": "I16", "int32": "I32", "int64": "I64", "uint8": "U8", "uint16": "U16",
          "uint32": "U32", "uint64": "U64", "bool": "BOOL", "complex64": "C64"}
_FROM_ST = {v: k for k, v in _TO_ST.items()}


def _save_safetensors(path, tensors):
    import numpy as np

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


def _load_safetensors(path):
    import numpy as np

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
