"""numpy-style repr for ember arrays: array([1, 2], dtype=int32).

numpy formats the values (bfloat16 comes as float32, which prints the same digits); the
dtype is always shown, and empty arrays other than 1-d also show their shape, as numpy does.
"""
import contextlib


class PrintOptions:
    """How arrays print: precision is the number of digits after the decimal point
    (None: as many as needed to tell values apart, numpy's default)."""

    def __init__(self, precision=None):
        self.precision = precision

    def __repr__(self):
        return f"PrintOptions(precision={self.precision})"


_options = PrintOptions()


def set_printoptions(precision=None):
    """Sets the number of digits printed after the decimal point."""
    if precision is not None and (not isinstance(precision, int) or precision < 0):
        raise ValueError(f"[set_printoptions] precision must be a non-negative int, got {precision!r}.")
    _options.precision = precision


def get_printoptions():
    """The current print options (a copy)."""
    return PrintOptions(_options.precision)


@contextlib.contextmanager
def printoptions(precision=None):
    """Print options for the duration of a with block."""
    old = _options.precision
    set_printoptions(precision)
    try:
        yield get_printoptions()
    finally:
        _options.precision = old


def format_array(a):
    import numpy as np  # lazily: `import ember` works without numpy

    dtype = str(a.dtype)
    try:
        values = np.asarray(a)
    except ValueError as e:
        # Inside vmap an array that depends on the mapped inputs has no values yet: a debug
        # print should show what is known rather than fail.
        if "traced" not in str(e):
            raise
        return f"array(<traced>, shape={tuple(a.shape)}, dtype={dtype})"
    body = np.array2string(values, separator=", ", prefix="array(", threshold=1000, edgeitems=3,
                           precision=_options.precision)
    if values.size == 0 and values.ndim != 1:
        return f"array({body}, shape={tuple(values.shape)}, dtype={dtype})"
    return f"array({body}, dtype={dtype})"
