"""mlx.core names that are plain Python over the compiled ops: constants, dtype
information (finfo, iinfo, isdtype, can_cast, result_type), the array-API aliases,
asarray, unique and einsum_path. install() puts them on ember.core.
"""
from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any, Union

from ember import core as _c

if TYPE_CHECKING:
    import numpy.typing

    ArrayLike = Union[_c.array, numpy.typing.ArrayLike]
    StreamLike = Union[_c.Stream, _c.ThreadLocalStream, _c.Device, _c.DeviceType, None]


def on_stream(stream: StreamLike) -> Any:
    """The context a Python-level op runs its nodes in: the given stream or device
    (mlx.core's stream= keyword), or the current one when None."""
    return contextlib.nullcontext() if stream is None else _c.stream(stream)

# ---- constants -------------------------------------------------------------------------
CONSTANTS = {
    "pi": math.pi,
    "e": math.e,
    "inf": math.inf,
    "nan": math.nan,
    "euler_gamma": 0.5772156649015329,  # the Euler-Mascheroni constant
    "newaxis": None,
}

# ---- dtype information -----------------------------------------------------------------
# (mantissa bits without the implicit one, exponent bits) of each IEEE-style float.
_FLOAT_BITS = {"float16": (10, 5), "bfloat16": (7, 8), "float32": (23, 8), "float64": (52, 11)}


def _dtype_of(x: Any) -> _c.Dtype:
    if isinstance(x, _c.Dtype):
        return x
    if isinstance(x, _c.array):
        return x.dtype
    raise TypeError(f"Expected an ember dtype or array, got {type(x).__name__}.")


class finfo:
    """Machine limits of a floating-point dtype: min, max, eps, tiny (smallest normal)."""

    dtype: _c.Dtype
    bits: int
    eps: float
    max: float
    min: float
    tiny: float
    smallest_normal: float
    resolution: float

    def __init__(self, dtype: _c.Dtype | _c.array) -> None:
        dtype = _dtype_of(dtype)
        name = str(dtype)
        if name == "complex64":
            name = "float32"
        if name not in _FLOAT_BITS:
            raise ValueError(f"[finfo] {dtype} is not an inexact type.")
        m, e = _FLOAT_BITS[name]
        bias = 2 ** (e - 1) - 1
        self.dtype = dtype
        self.bits = 1 + m + e
        self.eps = 2.0 ** -m
        self.max = (2.0 - 2.0 ** -m) * 2.0 ** bias
        self.min = -self.max
        self.tiny = self.smallest_normal = 2.0 ** (1 - bias)
        self.resolution = 10.0 ** -int(math.floor(m * math.log10(2)))

    def __repr__(self) -> str:
        return f"finfo(min={self.min}, max={self.max}, eps={self.eps}, dtype={self.dtype})"


class iinfo:
    """Range of an integer dtype: min and max."""

    dtype: _c.Dtype
    bits: int
    min: int
    max: int

    def __init__(self, dtype: _c.Dtype | _c.array) -> None:
        dtype = _dtype_of(dtype)
        name = str(dtype)
        if not name.startswith(("int", "uint")):
            raise ValueError(f"[iinfo] {dtype} is not an integer type.")
        self.dtype = dtype
        self.bits = int(name.lstrip("uint"))
        if name.startswith("uint"):
            self.min, self.max = 0, 2 ** self.bits - 1
        else:
            self.min, self.max = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


_KINDS = {
    "bool": lambda n: n == "bool",
    "signed integer": lambda n: n.startswith("int"),
    "unsigned integer": lambda n: n.startswith("uint"),
    "integral": lambda n: n.startswith(("int", "uint")),
    "real floating": lambda n: n in _FLOAT_BITS,
    "complex floating": lambda n: n == "complex64",
    "numeric": lambda n: n != "bool",
}


def isdtype(dtype: _c.Dtype, kind: _c.Dtype | str | tuple[_c.Dtype | str, ...]) -> bool:
    """Whether dtype is of kind: a dtype, one of the array API's kind names ("bool",
    "signed integer", "unsigned integer", "integral", "real floating",
    "complex floating", "numeric"), or a tuple of those (any matches)."""
    if not isinstance(dtype, _c.Dtype):
        raise TypeError(f"[isdtype] dtype must be an ember dtype, got {type(dtype).__name__}.")
    if isinstance(kind, tuple):
        return any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, _c.Dtype):
        return dtype == kind
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"[isdtype] Unknown kind {kind!r}; expected one of {sorted(_KINDS)}.")
        return _KINDS[kind](str(dtype))
    raise TypeError(f"[isdtype] kind must be a dtype, a string or a tuple, got {type(kind).__name__}.")


def result_type(*arrays_and_dtypes: _c.array | _c.Dtype) -> _c.Dtype:
    """The dtype that ember's promotion gives for the arrays and dtypes together."""
    if not arrays_and_dtypes:
        raise ValueError("[result_type] Needs at least one array or dtype.")
    out = _dtype_of(arrays_and_dtypes[0])
    for x in arrays_and_dtypes[1:]:
        out = _c.promote_types(out, _dtype_of(x))
    return out


def can_cast(from_: _c.Dtype | _c.array, to: _c.Dtype | _c.array) -> bool:
    """Whether values of from_ (a dtype or an array) convert to dtype `to` without loss
    under ember's promotion rules (promoting the two gives `to`)."""
    return _c.promote_types(_dtype_of(from_), _dtype_of(to)) == _dtype_of(to)


def asarray(a: Any, dtype: _c.Dtype | None = None, *, copy: bool | None = None) -> _c.array:
    """a as an ember array: a itself when it already is one of that dtype (and copy is
    not True), else a new array (numpy arrays, lists, scalars, DLPack objects)."""
    if isinstance(a, _c.array):
        if dtype is not None and a.dtype != dtype:
            if copy is False:
                raise ValueError("[asarray] A dtype change needs a copy, but copy=False.")
            return a.astype(dtype)
        return _c.array(a) if copy else a
    return _c.array(a, dtype=dtype)


# ---- unique ----------------------------------------------------------------------------
def unique(a: ArrayLike, /, size: int, return_index: bool = False,
           return_inverse: bool = False, return_counts: bool = False,
           fill_value: Any = None, *,
           stream: StreamLike = None) -> _c.array | tuple[_c.array, ...]:
    """The sorted unique elements of the flattened a, in an output of fixed `size`.

    The size is never inferred from the values (so a is not evaluated): past the last
    unique element the output holds fill_value (the smallest element when None) with a
    count of 0; with more
    unique elements than size, the smallest `size` are kept. Optionally also returns the
    index of each unique element's first occurrence, the inverse (for each element of a,
    the position of its value in the output, shaped like a) and the counts.
    """
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"[unique] size must be a non-negative int, got {size!r}.")
    with on_stream(stream):
        return _unique(asarray(a), size, return_index, return_inverse, return_counts, fill_value)


def _unique(a: _c.array, size: int, return_index: bool, return_inverse: bool,
            return_counts: bool, fill_value: Any) -> _c.array | tuple[_c.array, ...]:
    flat = a.reshape(-1)
    n = flat.size
    order = _c.argsort(flat)  # stable: equal values keep their first occurrence first
    s = flat[order]
    if n > 0:
        first = _c.concatenate([_c.array([True]), s[1:] != s[:-1]])
    else:
        first = _c.zeros((0,), dtype=_c.bool_)
    rank = _c.cumsum(first.astype(_c.int32)) - 1  # output slot of each sorted element
    # Elements whose slot is past `size` (truncated) or that repeat go to a spare slot.
    slot = _c.where(first & (rank < size), rank, size).astype(_c.int32)
    if fill_value is None:
        fill = s[0] if n else _c.array(0, dtype=a.dtype)
    else:
        fill = _c.array(fill_value, dtype=a.dtype)
    values = _c.broadcast_to(fill, (size + 1,))
    values = _c.put_along_axis(values, slot, s, axis=0) if n else values
    out = [values[:size]]
    if return_index:
        idx = _c.zeros((size + 1,), dtype=_c.uint32)
        if n:
            idx = _c.put_along_axis(idx, slot, order.astype(_c.uint32), axis=0)
        out.append(idx[:size])
    if return_inverse:
        pos = _c.minimum(rank, max(size - 1, 0)).astype(_c.uint32)
        inv = _c.zeros((n,), dtype=_c.uint32)
        if n:
            inv = _c.put_along_axis(inv, order, pos, axis=0)
        out.append(inv.reshape(a.shape))
    if return_counts:
        counts = _c.zeros((size + 1,), dtype=_c.int32)
        if n:
            counts = counts.at[_c.minimum(rank, size).astype(_c.int32)].add(1)
        out.append(counts[:size])
    return out[0] if len(out) == 1 else tuple(out)


# ---- einsum_path -----------------------------------------------------------------------
def einsum_path(subscripts: str, *operands: _c.array) -> tuple[list[tuple[int, ...]], str]:
    """A contraction order for einsum and a description of it.

    Greedy: at each step, contract the pair of operands whose result is smallest.
    Returns (path, text): path lists the pairs of operand positions contracted in turn
    (positions in the list of remaining operands, results appended last), numpy's form.
    """
    if "->" in subscripts:
        inputs, output = subscripts.replace(" ", "").split("->")
    else:
        inputs, output = subscripts.replace(" ", ""), None
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"[einsum_path] {len(terms)} terms in the subscripts but "
                         f"{len(operands)} operands.")
    sizes: dict[str, int] = {}
    for t, op in zip(terms, operands):
        shape = op.shape
        letters = t.replace("...", "")
        for ch, d in zip(letters, shape[len(shape) - len(letters):]):
            sizes[ch] = max(sizes.get(ch, 1), d)
    if output is None:
        counts: dict[str, int] = {}
        for t in terms:
            for ch in t.replace("...", ""):
                counts[ch] = counts.get(ch, 0) + 1
        output = "".join(sorted(ch for ch, c in counts.items() if c == 1))
    remaining = [set(t.replace("...", "")) for t in terms]
    path: list[tuple[int, ...]] = []
    flops, scaling = 0, 0
    while len(remaining) > 1:
        best: tuple[tuple[int, int], int, int, set[str]] | None = None
        for i in range(len(remaining)):
            for j in range(i + 1, len(remaining)):
                others = set(output).union(*[r for k, r in enumerate(remaining) if k not in (i, j)])
                kept = (remaining[i] | remaining[j]) & others
                cost = math.prod(sizes[c] for c in remaining[i] | remaining[j])
                size = math.prod(sizes[c] for c in kept)
                if best is None or (size, cost) < best[0]:
                    best = ((size, cost), i, j, kept)
        assert best is not None
        (_, cost), i, j, kept = best
        flops += cost
        scaling = max(scaling, len(remaining[i] | remaining[j]))
        path.append((i, j))
        remaining = [r for k, r in enumerate(remaining) if k not in (i, j)] + [kept]
    if not path:
        path = [(0,)]
    text = (f"  Complete contraction:  {subscripts}\n"
            f"         Naive scaling:  {len(sizes)}\n"
            f"     Optimized scaling:  {scaling}\n"
            f"  Naive FLOP count:  {math.prod(sizes.values()) * max(len(terms), 1):.4g}\n"
            f"  Optimized FLOP count:  {flops:.4g}\n"
            f"  Path: {path}")
    return path, text


# ---- aliases ---------------------------------------------------------------------------
ALIASES = {
    "acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
    "atan": "arctan", "atan2": "arctan2", "atanh": "arctanh",
    "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift",
    "concat": "concatenate", "permute_dims": "transpose", "pow": "power",
    "cumulative_sum": "cumsum", "cumulative_prod": "cumprod",
}


def matrix_transpose(a: ArrayLike, /, *, stream: StreamLike = None) -> _c.array:
    """a with its last two axes swapped (the array API's matrix_transpose)."""
    return _c.swapaxes(asarray(a), -1, -2, stream=stream)


def install() -> None:
    # mlx.core has the linalg norm under this name too
    setattr(_c, "matrix_norm", _c.linalg.norm)
    for name, value in CONSTANTS.items():
        setattr(_c, name, value)
    for alias, target in ALIASES.items():
        if hasattr(_c, target) and not hasattr(_c, alias):
            setattr(_c, alias, getattr(_c, target))
    # (Their __module__ stays ember._extras: the stubs import them from this annotated file.)
    for f in (finfo, iinfo, isdtype, result_type, can_cast, asarray, unique, einsum_path,
              matrix_transpose):
        setattr(_c, f.__name__, f)
