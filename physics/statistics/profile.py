"""Exact, batched profiling of nuisances that enter the expectation linearly.

Model: μ(θ) = base + Σ_p θ_p D_p, Poisson χ² (Baker & Cousins 1984) plus Gaussian pulls
Σ_p ((θ_p − c_p)/σ_p)² (σ_p = ∞ for a free parameter). The objective is convex in θ
(−ln Poisson is convex in μ, μ is linear in θ), so a damped Newton method converges to the
global minimum; it runs on a whole block of signals at once (no per-point minimizer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.statistics.poisson import poisson_chi2


@dataclass(frozen=True)
class ProfileResult:
    """Profiled χ² (shape (...)), best-fit nuisances (..., n_par) and a convergence flag."""

    chi2: NDArray
    theta: NDArray
    converged: NDArray


def _objective(n, base, directions, theta, inv_var, centre):
    mu = base + np.matmul(theta[..., None, :], directions)[..., 0, :]
    pulls = np.sum(((theta - centre) ** 2) * inv_var, axis=-1)
    bad = np.any((mu <= 0) & (n > 0), axis=-1) | np.any(mu < 0, axis=-1)
    # a bin with n = 0 contributes 2μ, also when μ = 0 (poisson_chi2_terms)
    value = poisson_chi2(n, mu) + pulls
    return np.where(bad, np.inf, value), mu


def profile_linear_poisson(
    observed: ArrayLike,
    base: ArrayLike,
    directions: ArrayLike,
    prior_sigma: ArrayLike,
    *,
    prior_centre: ArrayLike | None = None,
    start: ArrayLike | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-10,
) -> ProfileResult:
    """Minimise the Poisson χ² with Gaussian pulls over linear nuisances, batched.

    Parameters
    ----------
    observed : (n_bins,)
        Observed counts (non-integer allowed: Asimov data).
    base : (..., n_bins)
        Expectation at θ = 0 (must be > 0 where observed > 0).
    directions : (..., n_par, n_bins)
        ∂μ/∂θ_p; broadcast against ``base``.
    prior_sigma : (n_par,)
        Widths of the Gaussian pulls; ``np.inf`` for an unconstrained parameter.
    prior_centre : (n_par,), optional
        Centres of the pulls (default 0).
    start : (..., n_par), optional
        Starting point (default: the centres), e.g. the background-only fit; any start
        converges to the same minimum (convex objective), a good one in fewer steps.

    Returns
    -------
    ProfileResult
        ``chi2`` (...), ``theta`` (..., n_par), ``converged`` (...).
    """
    n = np.asarray(observed, dtype=float)
    base = np.asarray(base, dtype=float)
    d = np.asarray(directions, dtype=float)
    sigma = np.asarray(prior_sigma, dtype=float)
    n_par = d.shape[-2]
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    centre = np.zeros(n_par) if prior_centre is None else np.asarray(prior_centre, dtype=float)
    batch = np.broadcast_shapes(base.shape[:-1], d.shape[:-2])
    base = np.broadcast_to(base, batch + base.shape[-1:])
    d = np.broadcast_to(d, batch + d.shape[-2:])
    first = centre if start is None else np.asarray(start, dtype=float)
    theta = np.broadcast_to(first, batch + (n_par,)).copy()
    f, mu = _objective(n, base, d, theta, inv_var, centre)
    converged = np.zeros(batch, dtype=bool)
    ridge = 1e-12 * np.eye(n_par)
    for _ in range(max_iterations):
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mu > 0, n / mu, 0.0)
            curv = np.where(mu > 0, n / mu**2, 0.0)
        grad = 2.0 * np.matmul(d, (1.0 - ratio)[..., :, None])[..., 0]
        grad = grad + 2.0 * inv_var * (theta - centre)
        hess = 2.0 * np.matmul(d * curv[..., None, :], np.swapaxes(d, -1, -2))
        hess = hess + 2.0 * np.diag(inv_var)
        scale = np.maximum(np.abs(np.diagonal(hess, axis1=-2, axis2=-1)).max(axis=-1), 1.0)
        step = -np.linalg.solve(hess + ridge * scale[..., None, None], grad[..., None])[..., 0]
        decrement = -np.sum(grad * step, axis=-1)
        converged = decrement < tolerance
        if np.all(converged):
            break
        # keep μ positive: largest fraction of the step with μ + α Δμ > 0, times 0.99
        dmu = np.matmul(step[..., None, :], d)[..., 0, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            limit = np.where(dmu < 0, -mu / dmu, np.inf).min(axis=-1)
        alpha = np.minimum(1.0, 0.99 * limit)
        # backtracking until the objective does not increase (convex: terminates quickly)
        new_theta, new_f, new_mu = theta, f, mu
        accept = converged.copy()
        for _ in range(30):
            trial = theta + alpha[..., None] * step
            f_trial, mu_trial = _objective(n, base, d, trial, inv_var, centre)
            ok = (f_trial <= f + 1e-12 * np.abs(f)) & ~accept
            new_theta = np.where(ok[..., None], trial, new_theta)
            new_f = np.where(ok, f_trial, new_f)
            new_mu = np.where(ok[..., None], mu_trial, new_mu)
            accept |= ok
            if np.all(accept):
                break
            alpha = np.where(accept, alpha, 0.5 * alpha)
        theta, f, mu = new_theta, new_f, new_mu
    return ProfileResult(chi2=f, theta=theta, converged=converged)
