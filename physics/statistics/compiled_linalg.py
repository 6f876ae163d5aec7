"""Small compiled linear algebra shared by the numba profile kernels."""

from __future__ import annotations

import numpy as np

from nubound.physics.kernel_cache import kernel

_FAST = {"reassoc", "contract"}  # lets LLVM vectorise the sum (no nnan/ninf)


@kernel(fastmath=_FAST)
def dot(x, y):
    """Σ_b x_b y_b of two 1-D arrays of equal size (pass slices for a range of bins)."""
    acc = 0.0
    for b in range(x.size):
        acc += x[b] * y[b]
    return acc


@kernel()
def cholesky_factor(mat):
    """Lower Cholesky factor of a small symmetric positive (semi)definite matrix, in place
    (Golub & Van Loan, *Matrix Computations* (2013) Alg. 4.2.1); a direction whose pivot is
    not positive gets a zero column. Only the lower triangle is written."""
    n = mat.shape[0]
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


@kernel()
def cholesky_substitute(factor, rhs, out):
    """out = (L Lᵀ)⁻¹ rhs for the factor L of ``cholesky_factor`` (zero where L has a zero
    pivot); ``out`` may be ``rhs``."""
    n = rhs.size
    for k in range(n):  # L y = rhs
        acc = rhs[k]
        for j in range(k):
            acc -= factor[k, j] * out[j]
        out[k] = acc / factor[k, k] if factor[k, k] > 0.0 else 0.0
    for k in range(n - 1, -1, -1):  # Lᵀ out = y
        acc = out[k]
        for j in range(k + 1, n):
            acc -= factor[j, k] * out[j]
        out[k] = acc / factor[k, k] if factor[k, k] > 0.0 else 0.0


@kernel()
def cholesky_solve(mat, rhs, out):
    """out = mat⁻¹ rhs (``cholesky_factor`` then ``cholesky_substitute``); the lower triangle
    of ``mat`` is overwritten by the factor."""
    cholesky_factor(mat)
    cholesky_substitute(mat, rhs, out)


@kernel()
def solve_equilibrated(mat, rhs, out, scale, ridge):
    """out = mat⁻¹ rhs after scaling mat to a unit diagonal (Jacobi equilibration: the
    directions of a profile can differ in scale by 10¹⁰ and more, e.g. a huge signal's
    normalisation next to a background shape), with ``ridge`` added to that unit diagonal; a
    direction with a zero diagonal gets a zero component. ``mat`` is overwritten by the
    factor and ``scale`` (workspace of size n) by the scaling, which ``resolve_equilibrated``
    reuses for another right-hand side."""
    n = rhs.size
    for k in range(n):
        scale[k] = 1.0 / np.sqrt(mat[k, k]) if mat[k, k] > 0.0 else 0.0
    for i in range(n):
        for j in range(i + 1):
            mat[i, j] *= scale[i] * scale[j]
        mat[i, i] += ridge
    cholesky_factor(mat)
    resolve_equilibrated(mat, scale, rhs, out)


@kernel()
def resolve_equilibrated(factor, scale, rhs, out):
    """out = mat⁻¹ rhs from the factor and scaling that ``solve_equilibrated`` left."""
    for k in range(rhs.size):
        out[k] = rhs[k] * scale[k]
    cholesky_substitute(factor, out, out)
    for k in range(rhs.size):
        out[k] *= scale[k]
