"""The first batched numpy profile of COHERENT CsI and Ar, kept as the benchmarks' plain reference.

Every direction stored per point (N, P, B), gradient and Hessian by stacked matrix products of
tiny matrices, one LAPACK solve per point and two χ² evaluations (logarithm of every bin) per
damped Newton step. ``*_reference_args`` build its inputs for the random signals of the tests.
"""

from __future__ import annotations

import numpy as np

from nubound.physics.experiments import coherent_ar_likelihood as lik
from nubound.physics.experiments.dresden_ii_background import (
    A_M_PULL_SIGMA,
    LOWER,
    UPPER,
    background_rate,
)
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


def dresden_reference_profile(prof, signal, max_iterations=1000, tolerance=1e-6):
    """Dresden-II χ² profiled by a projected Levenberg–Marquardt written in numpy, all signals
    (N, n_bins) in counts/(10 eV·day) at once: the model (``background_rate``) and its
    Jacobian evaluated for the whole batch as (N, 7, n_bins) arrays each step, one batched
    LAPACK solve of the 7 × 7 normal equations, from the background-only fit. Same objective,
    bounds and damping as ``dresden_ii_kernel``; stops at a predicted gain below
    ``tolerance`` (or λ > 1e8)."""
    e, isg = prof.energy_keV, prof.inv_sigma
    target = (prof.rate - signal) * isg  # weighted data minus signal, (N, n_bins)
    pull_w = 1.0 / A_M_PULL_SIGMA**2
    n = signal.shape[0]

    def chi2_of(theta, rows):
        with np.errstate(under="ignore"):
            r = target[rows] - background_rate(theta, e) * isg
        return np.einsum("ij,ij->i", r, r) + pull_w * (theta[:, 6] - 1.0) ** 2, r

    theta = np.tile(np.clip(prof.theta0, LOWER, UPPER), (n, 1))
    lam = np.zeros(n)
    chi2, _ = chi2_of(theta, np.arange(n))
    active = np.arange(n)
    for _ in range(max_iterations):
        th = theta[active]
        _, r = chi2_of(th, active)
        with np.errstate(under="ignore"):
            jac = weighted_jacobian_batch(th, e, isg)  # (m, 7, n_bins)
        rhs = np.einsum("mkb,mb->mk", jac, r)
        rhs[:, 6] -= pull_w * (th[:, 6] - 1.0)
        gram = jac @ jac.transpose(0, 2, 1)
        gram[:, 6, 6] += pull_w
        diag = np.einsum("mkk->mk", gram)
        mat = gram + (lam[active, None] * diag)[:, :, None] * np.eye(7)
        mat += 1e-12 * (1.0 + diag.max(axis=1))[:, None, None] * np.eye(7)
        frozen = ((th <= LOWER) & (rhs < 0)) | ((th >= UPPER) & (rhs > 0))
        keep = ~frozen
        mat = mat * keep[:, :, None] * keep[:, None, :] + frozen[:, :, None] * np.eye(7)
        rhs = np.where(frozen, 0.0, rhs)
        step = np.linalg.solve(mat, rhs[:, :, None])[:, :, 0]
        predicted = np.sum(step * rhs, axis=1)
        done = predicted < tolerance + 1e-9 * chi2[active]
        trial = np.clip(th + step, LOWER, UPPER)
        chi2_trial, _ = chi2_of(trial, active)
        better = (chi2_trial < chi2[active]) & ~done
        theta[active[better]] = trial[better]
        chi2[active[better]] = chi2_trial[better]
        lam[active] = np.where(better, lam[active] * 0.1, np.maximum(lam[active] * 10, 1e-3))
        active = active[~(done | (lam[active] > 1e8))]
        if active.size == 0:
            break
    return chi2


def weighted_jacobian_batch(theta, energy_keV, inv_sigma):
    """∂b/∂θ / σ (N, 7, nE) of ``background_rate``'s formula for θ (N, 7), written out (the
    tests' analytic Jacobian)."""
    from test_dresden_ii_background import _direct_jacobian

    return _direct_jacobian(np.asarray(theta), energy_keV) * inv_sigma
