"""Fits the polynomial coefficients of backend/cpu/simd_math.h: weighted minimax fits by
Lawson's iteration (iteratively reweighted least squares) on Chebyshev nodes, in float64,
printed as float32 hex literals. Each fit minimizes the error relative to the function value
(or, for erf's tail, relative to erf). Needs numpy (scipy for erf).

    python bench/tools/fit_poly.py exp 6          # e^r = 1 + r + r^2 P(r), |r| <= ln2/2
    python bench/tools/fit_poly.py log 10         # log1p(f) = f - f^2/2 + f^3 P(f)
    python bench/tools/fit_poly.py tanh 5 0.625   # tanh x = x + x^3 P(x^2), |x| < 0.625
    python bench/tools/fit_poly.py sin 3          # sin r = r + r^3 P(r^2), |r| <= pi/4
    python bench/tools/fit_poly.py cos 3          # cos r = 1 - r^2/2 + r^4 P(r^2)
    python bench/tools/fit_poly.py erf_small 7 0.921875  # erf x = x + x P(x^2)
    python bench/tools/fit_poly.py erf_large 7 0.921875  # log erfc(x) + x^2 = P(x - mid)

Then check the float32 code exhaustively with bench/tools/simd_accuracy.cpp.
"""
import sys

import numpy as np


def lawson(basis, target, weight, xs, iters=300):
    """Coefficients c minimizing max |weight * (sum c_k basis_k - target)| over xs."""
    A = np.stack([b(xs) for b in basis], 1) * weight[:, None]
    t = target * weight
    w = np.ones(len(xs)) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(A * sw[:, None], t * sw, rcond=None)
        e = np.abs(A @ c - t)
        w = w * e
        w /= w.sum()
    return c, np.max(np.abs(A @ c - t))


def cheb(a, b, n=4000):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos(np.pi * (k + 0.5) / n)


def main():
    which, deg = sys.argv[1], int(sys.argv[2])
    arg = float(sys.argv[3]) if len(sys.argv) > 3 else None
    if which == "exp":
        r = cheb(-0.3466, 0.3466)
        basis = [lambda x, k=k: x ** (k + 2) for k in range(deg - 1)]
        c, e = lawson(basis, np.exp(r) - 1 - r, 1 / np.exp(r), r)
    elif which == "log":
        f = cheb(np.sqrt(0.5) - 1, np.sqrt(2) - 1)
        basis = [lambda x, k=k: x ** (k + 3) for k in range(deg - 2)]
        c, e = lawson(basis, np.log1p(f) - f + f * f / 2, 1 / np.abs(np.log1p(f)), f)
    elif which == "tanh":
        x = cheb(1e-4, arg)
        basis = [lambda x, k=k: x ** (2 * k + 3) for k in range(deg)]
        c, e = lawson(basis, np.tanh(x) - x, 1 / np.tanh(x), x)
    elif which == "sin":
        x = cheb(1e-5, np.pi / 4)
        basis = [lambda x, k=k: x ** (2 * k + 3) for k in range(deg)]
        c, e = lawson(basis, np.sin(x) - x, 1 / np.sin(x), x)
    elif which == "cos":
        x = cheb(0, np.pi / 4)
        basis = [lambda x, k=k: x ** (2 * k + 4) for k in range(deg)]
        c, e = lawson(basis, np.cos(x) - 1 + x * x / 2, 1 / np.cos(x), x)
    elif which == "erf_small":
        from scipy.special import erf
        x = cheb(1e-4, arg)
        basis = [lambda x, k=k: x ** (2 * k + 1) for k in range(deg)]
        c, e = lawson(basis, erf(x) - x, 1 / erf(x), x)
    elif which == "erf_large":
        from scipy.special import erfc
        x = cheb(arg, 3.95)
        mid = (arg + 3.95) / 2
        print("mid", mid)
        basis = [lambda x, k=k: (x - mid) ** k for k in range(deg + 1)]
        c, e = lawson(basis, np.log(erfc(x)) + x * x, erfc(x) / (1 - erfc(x)), x)
    else:
        raise SystemExit(f"unknown function {which}")
    print(which, "max weighted error", e, "= 2^%.1f" % np.log2(e))
    for v in c:  # lowest degree first
        print(float(np.float32(v)).hex())


if __name__ == "__main__":
    main()
