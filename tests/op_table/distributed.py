"""Op-table rows of mx.distributed's collectives over the default group of one process, where
each is an identity (all_gather of a 0-d array gives shape (1,)). The rows run the collective
primitives' kernels and their jvp / vjp / vmap rules through the generic sweeps; values over
several processes are checked in test_distributed.py."""
import numpy as np

import ember.core as mx

from . import INTS, SAME, OpRow

SHAPES = [((3, 4),), ((5,),), ((),), ((0, 3),), ((2, 3, 2),)]
DTYPES = ("float32", "float64", "float16", "bfloat16") + INTS + ("bool",)


def _row(name, fn, numpy=lambda x: x, shapes=SHAPES, dtypes=DTYPES, **kw):
    return OpRow(name=name, ember=fn, numpy=numpy, shapes=shapes, dtypes=dtypes, out_dtype=SAME,
                 **kw)


ROWS = [
    _row("distributed.all_sum", lambda x: mx.distributed.all_sum(x),
         dtypes=DTYPES + ("complex64",)),
    _row("distributed.all_max", lambda x: mx.distributed.all_max(x)),
    _row("distributed.all_min", lambda x: mx.distributed.all_min(x)),
    _row("distributed.all_gather", lambda x: mx.distributed.all_gather(x),
         shapes=[((),)] + [s for s in SHAPES if s != ((),)],
         numpy=lambda x: np.reshape(x, (1,)) if np.ndim(x) == 0 else x),
    _row("distributed.sum_scatter", lambda x: mx.distributed.sum_scatter(x),
         shapes=[s for s in SHAPES if len(s[0]) >= 1],
         dtypes=tuple(d for d in DTYPES if d != "bool")),
]
