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
    n_par, n_bins = d.shape[-2], d.shape[-1]
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    centre = np.zeros(n_par) if prior_centre is None else np.asarray(prior_centre, dtype=float)
    batch = np.broadcast_shapes(base.shape[:-1], d.shape[:-2])
    base = np.broadcast_to(base, batch + (n_bins,)).reshape(-1, n_bins)
    d = np.broadcast_to(d, batch + (n_par, n_bins)).reshape(-1, n_par, n_bins)
    if start is None:
        theta = _weighted_least_squares_start(n, base, d, inv_var, centre)
    else:
        theta = np.broadcast_to(np.asarray(start, dtype=float), batch + (n_par,))
        theta = theta.reshape(-1, n_par).copy()
    f, _ = _objective(n, base, d, theta, inv_var, centre)
    converged = np.zeros(theta.shape[0], dtype=bool)
    ridge = 1e-12 * np.eye(n_par)
    active = np.arange(theta.shape[0])
    for _ in range(max_iterations):
        th, dd = theta[active], d[active]
        mu = base[active] + np.matmul(th[:, None, :], dd)[:, 0, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(mu > 0, n / mu, 0.0)
        grad = 2.0 * np.matmul(dd, (1.0 - ratio)[:, :, None])[:, :, 0]
        grad += 2.0 * inv_var * (th - centre)
        hess = 2.0 * np.matmul(dd * (ratio / np.where(mu > 0, mu, 1.0))[:, None, :],
                               np.swapaxes(dd, -1, -2))
        hess += 2.0 * np.diag(inv_var)
        scale = np.maximum(np.abs(np.diagonal(hess, axis1=-2, axis2=-1)).max(axis=-1), 1.0)
        step = -np.linalg.solve(hess + ridge * scale[:, None, None], grad[:, :, None])[:, :, 0]
        decrement = -np.sum(grad * step, axis=-1)
        done = decrement < tolerance
        converged[active[done]] = True
        theta[active[done]] += step[done]  # last, tiny full step: quadratic convergence
        go = ~done
        active, mu, step, decrement = active[go], mu[go], step[go], decrement[go]
        if active.size == 0:
            break
        # full Newton step, capped to stay in the domain μ > 0, accepted if χ² decreases;
        # otherwise the damped step 1/(1+λ), λ² = Newton decrement of χ²/2, which decreases
        # a self-concordant function such as −n ln μ for sure (Nesterov, Introductory
        # Lectures on Convex Optimization (2004), Thm 4.1.12)
        dmu = np.matmul(step[:, None, :], d[active])[:, 0, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            limit = np.where(dmu < 0, -mu / dmu, np.inf).min(axis=-1)
        cap = 0.99 * limit
        trial = theta[active] + np.minimum(1.0, cap)[:, None] * step
        f_trial, _ = _objective(n, base[active], d[active], trial, inv_var, centre)
        better = f_trial <= f[active]
        lam = np.sqrt(np.maximum(decrement, 0.0) / 2.0)
        damped = theta[active] + np.minimum(1.0 / (1.0 + lam), cap)[:, None] * step
        theta[active] = np.where(better[:, None], trial, damped)
        f[active] = np.where(better, f_trial, np.nan)
        worse = active[~better]
        if worse.size:
            f[worse], _ = _objective(n, base[worse], d[worse], theta[worse], inv_var, centre)
    f, _ = _objective(n, base, d, theta, inv_var, centre)
    return ProfileResult(
        chi2=f.reshape(batch), theta=theta.reshape(batch + (n_par,)),
        converged=converged.reshape(batch),
    )


def _weighted_least_squares_start(n, base, d, inv_var, centre):
    """Gaussian approximation (weights 1/max(n, 1)) of the fit, if it keeps μ > 0; else 0."""
    w = 1.0 / np.maximum(n, 1.0)
    lhs = np.matmul(d * w, np.swapaxes(d, -1, -2)) + np.diag(inv_var)
    rhs = np.matmul(d * w, (n - base)[:, :, None])[:, :, 0] + inv_var * centre
    ridge = 1e-12 * np.maximum(np.abs(np.diagonal(lhs, axis1=-2, axis2=-1)).max(axis=-1), 1.0)
    theta = np.linalg.solve(lhs + ridge[:, None, None] * np.eye(d.shape[1]), rhs[:, :, None])
    theta = theta[:, :, 0]
    mu = base + np.matmul(theta[:, None, :], d)[:, 0, :]
    ok = np.all((mu > 0) | ((n == 0) & (mu >= 0)), axis=-1)
    return np.where(ok[:, None], theta, centre)
