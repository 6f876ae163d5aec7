"""The first batched numpy profile of COHERENT CsI and Ar, kept as the benchmarks' plain reference.

Every direction stored per point (N, P, B), gradient and Hessian by stacked matrix products of
tiny matrices, one LAPACK solve per point and two χ² evaluations (logarithm of every bin) per
damped Newton step. ``*_reference_args`` build its inputs for the random signals of the tests.
"""

from __future__ import annotations

import numpy as np

from nubound.physics.experiments import coherent_ar_likelihood as lik
from nubound.physics.statistics.poisson import poisson_chi2


def _objective(n, base, d, theta, inv_var):
    mu = base + np.matmul(theta[:, None, :], d)[:, 0, :]
    bad = np.any((mu <= 0) & (n > 0), axis=-1) | np.any(mu < 0, axis=-1)
    return np.where(bad, np.inf, poisson_chi2(n, mu) + (theta**2) @ inv_var)


def reference_profile(n, base, d, sigma, chunk=None):
    """Damped Newton with per-point directions d (N, P, B) and zero-centred pulls: χ² (N,),
    in chunks of ``chunk`` points (the previous Ar likelihood used 64)."""
    chunk = chunk or len(base)
    return np.concatenate([
        _reference(n, base[i:i + chunk], d[i:i + chunk], sigma)
        for i in range(0, len(base), chunk)
    ])


def _reference(n, base, d, sigma, max_iterations=50, tolerance=1e-10):
    inv_var = np.where(np.isinf(sigma), 0.0, 1.0 / sigma**2)
    p = d.shape[1]
    w = 1.0 / np.maximum(n, 1.0)  # weighted least-squares start
    lhs = np.matmul(d * w, np.swapaxes(d, -1, -2)) + np.diag(inv_var)
    rhs = np.matmul(d * w, (n - base)[:, :, None])
    theta = np.linalg.solve(lhs + 1e-12 * np.eye(p), rhs)[:, :, 0]
    mu0 = base + np.matmul(theta[:, None, :], d)[:, 0, :]
    theta[~np.all((mu0 > 0) | ((n == 0) & (mu0 >= 0)), axis=-1)] = 0.0
    f = _objective(n, base, d, theta, inv_var)
    active = np.arange(len(theta))
    for _ in range(max_iterations):
        th, dd = theta[active], d[active]
        mu = base[active] + np.matmul(th[:, None, :], dd)[:, 0, :]
        ratio = np.where(mu > 0, n / np.where(mu > 0, mu, 1.0), 0.0)
        grad = 2.0 * np.matmul(dd, (1.0 - ratio)[:, :, None])[:, :, 0] + 2.0 * inv_var * th
        hess = 2.0 * np.matmul(dd * (ratio / np.where(mu > 0, mu, 1.0))[:, None, :],
                               np.swapaxes(dd, -1, -2)) + 2.0 * np.diag(inv_var)
        step = -np.linalg.solve(hess + 1e-12 * np.eye(p), grad[:, :, None])[:, :, 0]
        decrement = -np.sum(grad * step, axis=-1)
        done = decrement < tolerance
        theta[active[done]] += step[done]
        active, mu, step, decrement = active[~done], mu[~done], step[~done], decrement[~done]
        if active.size == 0:
            break
        dmu = np.matmul(step[:, None, :], d[active])[:, 0, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            cap = 0.99 * np.where(dmu < 0, -mu / dmu, np.inf).min(axis=-1)
        trial = theta[active] + np.minimum(1.0, cap)[:, None] * step
        f_trial = _objective(n, base[active], d[active], trial, inv_var)
        better = f_trial <= f[active]
        lam = np.sqrt(np.maximum(decrement, 0.0) / 2.0)
        damped = theta[active] + np.minimum(1.0 / (1.0 + lam), cap)[:, None] * step
        theta[active] = np.where(better[:, None], trial, damped)
        f[active] = _objective(n, base[active], d[active], theta[active], inv_var)
    return _objective(n, base, d, theta, inv_var)


def csi_reference_args(csi, signals):
    """Arguments of ``reference_profile`` for CsI signals (N, 99)."""
    s = csi._fit_signal(signals)
    bkg = np.broadcast_to(csi._fit_background_directions, s.shape[:-1] + (3, s.shape[-1]))
    d = np.concatenate([s[:, None, :], bkg], axis=1)
    return csi._fit_observed, s + csi._fit_background, d, csi.prior_sigma


def ar_reference_args(ar, signals):
    """Arguments of ``reference_profile`` for Ar signals (N, 960), as the previous Ar
    likelihood: the n = 0 bins summed into one (exact), chunks of 64 points."""
    d = np.concatenate([
        signals[:, None, :] * lik.signal_shape_ratios(),
        np.broadcast_to(lik.background_directions(), (len(signals), 6, ar.n_bins)),
    ], axis=1)
    empty = ar.observed == 0

    def merge(x):
        return np.concatenate([x[..., ~empty], x[..., empty].sum(-1, keepdims=True)], -1)

    base = lik.background_total() + signals
    return merge(ar.observed), merge(base), merge(d), np.ones(len(lik.NUISANCES)), 64
