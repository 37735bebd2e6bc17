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
    total: mx.array = mx.sum(mx.abs(spectrum)) + mx.sum(q @ r) + mx.sum(u)
    return total


if __name__ == "__main__":
    print(main())
