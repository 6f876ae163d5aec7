"""Batched profiled χ² of COHERENT CsI and Ar: ``profile_linear_poisson`` vs a reference.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_profile.py --benchmark-only -s``. The reference is the first batched
numpy algorithm, kept here as a plain implementation: every direction stored per point
(N, P, B), gradient and Hessian by stacked matrix products of tiny matrices, one LAPACK solve
per point and two χ² evaluations (logarithm of every bin) per Newton step. Both run in the
same process on the same random signals (tests/physics/test_coherent_*_profile.py); the benchmarks
assert they find the same minima, report evaluations per second per core in
``extra_info`` and print the speed-up. Target (issue 9): ≥ 1e5 evaluations per second per
core.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_coherent_ar_profile import random_signals
from test_coherent_csi_profile import _random_signals

from nubound.physics.experiments import coherent_ar_likelihood as lik
from nubound.physics.experiments.coherent_ar import CoherentAr
from nubound.physics.experiments.coherent_csi import CoherentCsI
from nubound.physics.statistics.poisson import poisson_chi2

_RATES: dict[str, float] = {}


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


@pytest.fixture(scope="module")
def csi_case():
    csi = CoherentCsI()
    signals = _random_signals(csi.sm_signal(), 4096)
    s = csi._fit_signal(signals)
    bkg = np.broadcast_to(csi._fit_background_directions, s.shape[:-1] + (3, s.shape[-1]))
    d = np.concatenate([s[:, None, :], bkg], axis=1)
    return csi, signals, (csi._fit_observed, s + csi._fit_background, d, csi.prior_sigma)


@pytest.fixture(scope="module")
def ar_case():
    ar = CoherentAr()
    signals = random_signals(ar.sm_signal(), 512)
    d = np.concatenate([
        signals[:, None, :] * lik.signal_shape_ratios(),
        np.broadcast_to(lik.background_directions(), (len(signals), 6, ar.n_bins)),
    ], axis=1)
    # as the previous Ar likelihood: the n = 0 bins summed into one (exact), chunks of 64
    empty = ar.observed == 0

    def merge(x):
        return np.concatenate([x[..., ~empty], x[..., empty].sum(-1, keepdims=True)], -1)

    base = lik.background_total() + signals
    sigma = np.ones(len(lik.NUISANCES))
    return ar, signals, (merge(ar.observed), merge(base), merge(d), sigma, 64)


def _record(benchmark, key, n_points):
    rate = n_points / benchmark.stats.stats.min
    benchmark.extra_info["evaluations_per_second"] = rate
    _RATES[key] = rate
    exp = key.split("_")[0]
    if f"{exp}_fast" in _RATES and f"{exp}_reference" in _RATES:
        ratio = _RATES[f"{exp}_fast"] / _RATES[f"{exp}_reference"]
        benchmark.extra_info["speedup_over_reference"] = ratio
        print(f"\n{exp}: profile_linear_poisson {_RATES[f'{exp}_fast']:.0f}/s, reference "
              f"{_RATES[f'{exp}_reference']:.0f}/s, ratio {ratio:.1f}")


def test_csi_fast(benchmark, csi_case):
    csi, signals, args = csi_case
    chi2 = benchmark.pedantic(csi.chi2, args=(signals,), rounds=5, iterations=1)
    np.testing.assert_allclose(chi2, reference_profile(*args), rtol=0, atol=1e-8)
    _record(benchmark, "csi_fast", len(signals))


def test_csi_reference(benchmark, csi_case):
    _, signals, args = csi_case
    benchmark.pedantic(reference_profile, args=args, rounds=3, iterations=1)
    _record(benchmark, "csi_reference", len(signals))


def test_ar_fast(benchmark, ar_case):
    ar, signals, args = ar_case
    chi2 = benchmark.pedantic(ar.chi2, args=(signals,), rounds=3, iterations=1)
    np.testing.assert_allclose(chi2, reference_profile(*args), rtol=0, atol=1e-8)
    _record(benchmark, "ar_fast", len(signals))


def test_ar_reference(benchmark, ar_case):
    _, signals, args = ar_case
    benchmark.pedantic(reference_profile, args=args, rounds=2, iterations=1)
    _record(benchmark, "ar_reference", len(signals))
