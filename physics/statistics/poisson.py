"""Poisson chi-square (docs/statistics.md#poisson): χ² = −2 ln(L/L_saturated).

χ² = 2 Σ_i [μ_i − n_i + n_i ln(n_i/μ_i)] (Baker & Cousins, NIM 221 (1984) 437, Eq. 6),
with the n_i = 0 term equal to 2 μ_i. Non-integer n (Asimov data) is allowed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def poisson_chi2_terms(observed: ArrayLike, expected: ArrayLike) -> NDArray:
    """Per-bin terms 2[μ − n + n ln(n/μ)], broadcast; μ must be > 0 where n > 0."""
    n = np.asarray(observed, dtype=float)
    mu = np.asarray(expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / mu), 0.0)
    return 2.0 * (mu - n + log_term)


def poisson_chi2(observed: ArrayLike, expected: ArrayLike, axis: int = -1) -> NDArray:
    """Sum of ``poisson_chi2_terms`` over ``axis``.

    Examples
    --------
    >>> float(poisson_chi2([3.0, 4.0], [3.0, 4.0])), float(poisson_chi2([0.0], [2.0]))
    (0.0, 4.0)
    """
    return poisson_chi2_terms(observed, expected).sum(axis=axis)
