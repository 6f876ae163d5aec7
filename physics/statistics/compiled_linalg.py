"""Small compiled linear algebra shared by the numba profile kernels."""

from __future__ import annotations

import numpy as np
from numba import njit

_FAST = {"reassoc", "contract"}  # lets LLVM vectorise the sum (no nnan/ninf)


@njit(cache=True, fastmath=_FAST)
def dot(x, y):
    """Σ_b x_b y_b of two 1-D arrays of equal size (pass slices for a range of bins)."""
    acc = 0.0
    for b in range(x.size):
        acc += x[b] * y[b]
    return acc


@njit(cache=True)
def cholesky_solve(mat, rhs, out):
    """out = mat⁻¹ rhs for a small symmetric positive (semi)definite matrix, by Cholesky
    (Golub & Van Loan, *Matrix Computations* (2013) Alg. 4.2.1); a direction whose pivot is
    not positive gets a zero component. The lower triangle of ``mat`` is overwritten."""
    n = rhs.size
    for k in range(n):
        d = mat[k, k]
        for j in range(k):
            d -= mat[k, j] * mat[k, j]
        if d > 0.0:
            d = np.sqrt(d)
            mat[k, k] = d
            for i in range(k + 1, n):
                acc = mat[i, k]
                for j in range(k):
                    acc -= mat[i, j] * mat[k, j]
                mat[i, k] = acc / d
        else:
            for i in range(k, n):
                mat[i, k] = 0.0
    for k in range(n):  # L y = rhs
        acc = rhs[k]
        for j in range(k):
            acc -= mat[k, j] * out[j]
        out[k] = acc / mat[k, k] if mat[k, k] > 0.0 else 0.0
    for k in range(n - 1, -1, -1):  # Lᵀ out = y
        acc = out[k]
        for j in range(k + 1, n):
            acc -= mat[j, k] * out[j]
        out[k] = acc / mat[k, k] if mat[k, k] > 0.0 else 0.0


@njit(cache=True)
def solve_equilibrated(mat, rhs, out, scale, ridge):
    """out = mat⁻¹ rhs after scaling mat to a unit diagonal (Jacobi equilibration: the
    directions of a profile can differ in scale by 10¹⁰ and more, e.g. a huge signal's
    normalisation next to a background shape), with ``ridge`` added to that unit diagonal; a
    direction with a zero diagonal gets a zero component. ``mat`` is overwritten; ``scale``
    is workspace of size n."""
    n = rhs.size
    for k in range(n):
        scale[k] = 1.0 / np.sqrt(mat[k, k]) if mat[k, k] > 0.0 else 0.0
    for i in range(n):
        for j in range(n):
            mat[i, j] *= scale[i] * scale[j]
        mat[i, i] += ridge
        out[i] = rhs[i] * scale[i]
    cholesky_solve(mat, out.copy(), out)
    for k in range(n):
        out[k] *= scale[k]
