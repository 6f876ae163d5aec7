"""Dresden-II (130 bins, 7 nuisances): batched profiled χ² vs references in the same process.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_dresden_ii.py --benchmark-only -s``. All paths profile the same χ² on the same
random signals as tests/physics/test_dresden_ii_background.py (0–3× SM Fef CEvNS, tilted):
the production profiler (compiled kernel, one call for the whole block); a plain reference,
``scipy.optimize.least_squares`` (trust-region reflective, bounds) per signal on the direct
formula of ``background_rate`` with the Jacobian written out below, from the background-only
fit; the same projected Levenberg–Marquardt as the kernel written in numpy for the whole
batch at once (benchmarks/numpy_reference.py); iminuit Migrad per signal from the same start
with its default settings, with Migrad's numerical gradient and with the analytic one (the
tests' truth). The least-squares and numpy references must agree with the production χ² to
1e-3; the Migrad rows print how far above it they end.
``extra_info`` holds evaluations per second (per core when run as above); the last benchmark
prints the ratios. Target: ≥ 1e5 per second per core.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import dresden_reference_profile, weighted_jacobian_batch
from scipy.optimize import least_squares
from test_dresden_ii_background import _minuit_profile

from nubound.physics.experiments.dresden_ii import DresdenII
from nubound.physics.experiments.dresden_ii_background import (
    A_M_PULL_SIGMA,
    LOWER,
    UPPER,
    background_rate,
)

N_BATCHED = 4096
N_REFERENCE = 32
N_MINIMIZER = 16


def _weighted_jacobian(theta, energy_keV, inv_sigma):
    """∂b/∂θ / σ (7, nE) of background_rate's formula
    (docs/experiments/dresden_ii.md#likelihood)."""
    return weighted_jacobian_batch(np.asarray(theta)[None], energy_keV, inv_sigma)[0]


def least_squares_profile(energy_keV, rate, sigma, signal, start):
    """χ² profiled by scipy.optimize.least_squares (bounded TRF) for one signal (n_bins,)."""
    inv_sigma = 1.0 / sigma
    pull = np.zeros(7)
    pull[6] = 1.0 / A_M_PULL_SIGMA

    def residuals(theta):  # n_bins weighted residuals and the a_M pull as one more residual
        r = (rate - signal - background_rate(theta, energy_keV)) * inv_sigma
        return np.append(r, (theta[6] - 1.0) / A_M_PULL_SIGMA)

    def jacobian(theta):
        return np.vstack([-_weighted_jacobian(theta, energy_keV, inv_sigma).T, pull])

    with np.errstate(under="ignore"):
        fit = least_squares(residuals, np.clip(start, LOWER, UPPER), jac=jacobian,
                            bounds=(LOWER, UPPER), method="trf", x_scale="jac",
                            ftol=1e-12, xtol=1e-12, gtol=1e-12)
    return 2.0 * fit.cost


@pytest.fixture(scope="module")
def setup():
    exp = DresdenII()
    rng = np.random.default_rng(7)
    cevns = exp.sm_counts("fef")["Ge"]
    strength = rng.uniform(0.0, 3.0, N_BATCHED)
    tilt = rng.uniform(-1.0, 1.0, N_BATCHED)
    signals = strength[:, None] * cevns * np.exp(tilt[:, None] * (exp.energy_keV - 0.3) / 0.2)
    exp.chi2(signals[:2])  # load (or compile) the kernel outside the timing
    return exp, signals


def test_batched_profile(benchmark, setup, rates):
    exp, signals = setup
    rates.time(benchmark, "batched", N_BATCHED, exp.chi2, signals, rounds=5)


def test_numpy_reference_profile(benchmark, setup, rates):
    exp, signals = setup
    chi2 = rates.time(benchmark, "vectorised numpy", len(signals), dresden_reference_profile,
                      exp.profiler, signals / exp.exposure_days)
    assert np.abs(exp.chi2(signals) - chi2).max() < 1e-3


def test_least_squares_profile(benchmark, setup, rates):
    exp, signals = setup
    prof = exp.profiler
    per_day = signals[:N_REFERENCE] / exp.exposure_days
    sigma = exp.table[:, 2]

    def run():
        return np.array([least_squares_profile(exp.energy_keV, prof.rate, sigma, s,
                                               prof.theta0) for s in per_day])

    chi2 = rates.time(benchmark, "least_squares", N_REFERENCE, run, rounds=1)
    assert np.abs(exp.chi2(signals[:N_REFERENCE]) - chi2).max() < 1e-3


@pytest.mark.parametrize("label, gradient", [("migrad default", False),
                                             ("migrad default + analytic gradient", True)])
def test_minimizer_profile(benchmark, setup, rates, label, gradient):
    exp, signals = setup
    prof = exp.profiler
    per_day = signals[:N_MINIMIZER] / exp.exposure_days

    def run():
        return np.array([_minuit_profile(prof, s, (prof.theta0,), gradient=gradient)
                         for s in per_day])

    chi2 = rates.time(benchmark, label, N_MINIMIZER, run, rounds=1)
    # the same χ² (the batched profile is exact to 1e-3)
    rates.above_exact(benchmark, label, chi2, exp.chi2(signals[:N_MINIMIZER]), floor=-1e-3)
    if "batched" in rates and gradient:
        rates.report(benchmark, "Dresden-II profiled chi2")
