"""Small linear algebra on stacks of matrices, for the batched profiling.

Helpers of ``statistics.profile``: symmetric-pair indexing of Hessian blocks, the step cap
that keeps Poisson expectations positive, and a vectorised Cholesky solve for stacks of small
symmetric positive (semi)definite systems.
"""

from __future__ import annotations

import numpy as np


def row_pairs(a, b, upper):
    """Row products a_i b_j (upper: i ≤ j, a = b) and their (i, j) indices."""
    i, j = np.triu_indices(a.shape[0]) if upper else np.indices((a.shape[0], b.shape[0]))
    i, j = i.ravel(), j.ravel()
    return a[i] * b[j], i, j


def put_symmetric(out, i, j, h):
    out[:, i, j] = h
    out[:, j, i] = h


def add_symmetric(out, i, j, h):
    out[:, i, j] += h
    if not np.array_equal(i, j):
        off = np.asarray(i) != np.asarray(j)
        out[:, np.asarray(j)[off], np.asarray(i)[off]] += np.asarray(h)[..., off]


def step_cap(mu, dmu):
    """0.99 × the largest step fraction that keeps every μ ≥ 0 (∞ if none decreases)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(dmu < 0, -mu / dmu, np.inf).min(axis=-1, initial=np.inf)
    return 0.99 * limit


def solve_spd(a, b):
    """Solve a x = b for a stack of symmetric positive (semi)definite matrices a (N, P, P).

    Right-looking Cholesky factorisation vectorised over the stack (P is small: a few numpy
    operations per column instead of one LAPACK call per matrix) for large stacks, with a
    relative ridge
    1e-12 × max diagonal so that a flat direction (e.g. a zero signal with a free
    normalisation) gets a zero step instead of a division by zero.
    """
    p = a.shape[-1]
    ridge = 1e-12 * np.maximum(np.abs(np.diagonal(a, axis1=-2, axis2=-1)).max(axis=-1), 1.0)
    if a.shape[0] < 64 * p:  # few matrices: one LAPACK call each is faster
        return np.linalg.solve(a + ridge[:, None, None] * np.eye(p), b[:, :, None])[:, :, 0]
    m = np.ascontiguousarray(np.moveaxis(a, 0, -1))  # (P, P, N)
    y = np.array(b.T)  # (P, N): forward substitution L y = b along the factorisation
    diag = np.empty((p, a.shape[0]))
    cols = []
    for j in range(p):
        dj = np.sqrt(np.maximum(m[j, j] + ridge, ridge))
        col = m[j + 1:, j] / dj
        m[j + 1:, j + 1:] -= col[:, None, :] * col[None, :, :]
        y[j] /= dj
        y[j + 1:] -= col * y[j]
        diag[j] = dj
        cols.append(col)
    for j in reversed(range(p)):  # back substitution Lᵀ x = y
        if j + 1 < p:
            y[j] -= np.einsum("kn,kn->n", cols[j], y[j + 1:])
        y[j] /= diag[j]
    return y.T
