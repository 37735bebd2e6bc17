"""numpy-style repr for ember arrays: array([1, 2], dtype=int32)."""
import numpy as np


def format_array(a):
    dtype = str(a.dtype)
    values = np.asarray(a) if dtype != "bfloat16" else np.asarray(a.astype(a.dtype))
    body = np.array2string(values, separator=", ", prefix="array(", threshold=1000, edgeitems=3)
    return f"array({body}, dtype={dtype})"
