"""numpy-style repr for ember arrays: array([1, 2], dtype=int32).

numpy formats the values (bfloat16 comes as float32, which prints the same digits); the
dtype is always shown, and empty arrays other than 1-d also show their shape, as numpy does.
"""
import numpy as np


def format_array(a):
    dtype = str(a.dtype)
    try:
        values = np.asarray(a)
    except ValueError as e:
        # Inside vmap an array that depends on the mapped inputs has no values yet: a debug
        # print should show what is known rather than fail.
        if "traced" not in str(e):
            raise
        return f"array(<traced>, shape={tuple(a.shape)}, dtype={dtype})"
    body = np.array2string(values, separator=", ", prefix="array(", threshold=1000, edgeitems=3)
    if values.size == 0 and values.ndim != 1:
        return f"array({body}, shape={tuple(values.shape)}, dtype={dtype})"
    return f"array({body}, dtype={dtype})"
