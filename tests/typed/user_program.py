"""A small typed program that uses ember.core and its submodules; tests/test_stubs.py runs
mypy on it against the installed stubs."""
import ember.core as mx


def normalize(x: mx.array) -> mx.array:
    return x / mx.linalg.norm(x)


def main() -> mx.array:
    key: mx.array = mx.random.key(0)
    a: mx.array = mx.random.normal((3, 3), key=key)
    spd: mx.array = a @ a.T + mx.eye(3)
    inv: mx.array = mx.linalg.inv(spd)
    q, r = mx.linalg.qr(a)
    spectrum: mx.array = mx.fft.rfft(normalize(inv[0]))
    u: mx.array = mx.random.uniform(shape=(2,), key=mx.random.split(key)[0])
    group: mx.distributed.Group = mx.distributed.init()
    summed: mx.array = mx.distributed.all_sum(u, group=group, stream=mx.cpu)
    total: mx.array = mx.sum(mx.abs(spectrum)) + mx.sum(q @ r) + mx.sum(summed)
    return total


if __name__ == "__main__":
    print(main())


def everyday_calls() -> list[mx.array]:
    """Calls as MLX programs write them: scalars, lists and numpy arrays where an array goes,
    shapes and axes as ints or sequences, methods with the functions' signatures."""
    import numpy as np

    x = mx.array([[1.0, 2.0], [3.0, 4.0]])
    n = np.ones((2, 2), dtype=np.float32)
    outs: list[mx.array] = [
        mx.exp(n), mx.add(x, 1), mx.maximum(0.5, x), x + n, 2 * x, x ** 2, x @ n,
        mx.sum(x, axis=(0, 1)), mx.mean(x, axis=[0]), x.sum(axis=0), x.max(), x.exp(),
        x.abs().sqrt().round(2), mx.argmax(x, axis=1), x.reshape(4), x.reshape((1, 4)),
        x.transpose(1, 0), mx.zeros([2, 3]), mx.ones(4), mx.full((2,), 7, dtype=mx.int32),
        mx.arange(0, 1, 0.25), mx.pad(x, 1), mx.pad(x, [(0, 1), (1, 0)]), mx.roll(x, 1),
        mx.concatenate([x, n]), mx.stack([x, x], axis=0), mx.where(x > 2, x, 0.0),
        mx.take(x, mx.array([0]), axis=0), mx.squeeze(x[None]), mx.expand_dims(x, (0, 1)),
        mx.tensordot(x, x, axes=1), mx.cumsum(x, axis=0, dtype=mx.float32),
        mx.random.uniform(0.0, 1.0, (2,)), mx.random.normal([2, 2]), mx.fft.fft2(x, axes=(0, 1)),
        mx.linalg.norm(x, ord="fro"), mx.linalg.norm(x, ord=2, axis=(0, 1)),
        x.at[0].add(1.0), x[..., 0], x[:, mx.array([1, 0])],
    ]
    s = mx.linalg.svd(x, compute_uv=False)
    assert isinstance(s, mx.array)  # svd's result is an array or a tuple, by compute_uv
    outs.append(s)
    v: float = float(x[0, 0].item()) + sum(x.tolist()[0])
    outs.extend(mx.broadcast_arrays(x, n[0]))
    outs.append(mx.array(v))
    return outs
