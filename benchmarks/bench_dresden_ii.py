"""Dresden-II (130 bins, 7 nuisances): batched profiled χ² vs references in the same process.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_dresden_ii.py --benchmark-only``. All paths profile the same χ² on the same
random signals as tests/physics/test_dresden_ii_background.py (0–3× SM Fef CEvNS, tilted):
the production profiler; a dense reference (same Levenberg–Marquardt, but one exp per bin and
the full (N, 7, 130) Jacobian with batched JᵀJ, i.e. the profiler before the structured normal
equations); one MIGRAD fit per signal. ``extra_info`` holds evaluations per second; the last
benchmark prints the ratios. Target (issue 10): ≥ 1e5 per second per core.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_dresden_ii_background import _minuit_profile

from nubound.physics.experiments.dresden_ii import DresdenII
from nubound.physics.experiments.dresden_ii_background import ProfiledChi2

N_BATCHED = 4096
N_MINIMIZER = 16


class DenseReference(ProfiledChi2):
    """The same fit with the direct model (exp per bin) and the dense Jacobian."""

    def _evaluate(self, signal_w, theta):
        r, _ = self._residual_and_jacobian(signal_w / self.inv_sigma, theta, jacobian=False)
        return r, ()

    def _normal_equations(self, theta, r, shapes):
        _, jac = self._residual_and_jacobian(np.zeros_like(r), theta)
        return jac @ jac.transpose(0, 2, 1), (jac @ r[:, :, None])[:, :, 0]


@pytest.fixture(scope="module")
def setup():
    exp = DresdenII()
    rng = np.random.default_rng(7)
    cevns = exp.sm_counts("fef")["Ge"]
    strength = rng.uniform(0.0, 3.0, N_BATCHED)
    tilt = rng.uniform(-1.0, 1.0, N_BATCHED)
    signals = strength[:, None] * cevns * np.exp(tilt[:, None] * (exp.energy_keV - 0.3) / 0.2)
    return exp, signals


def test_batched_profile(benchmark, setup, rates):
    exp, signals = setup
    benchmark.pedantic(exp.chi2, args=(signals,), rounds=3, iterations=1)
    rates.record(benchmark, "batched", N_BATCHED)


def test_dense_reference_profile(benchmark, setup, rates):
    exp, signals = setup
    dense = DenseReference(exp.energy_keV, exp.table[:, 1], exp.table[:, 2])
    per_day = signals / exp.exposure_days
    chi2 = benchmark.pedantic(dense, args=(per_day,), rounds=3, iterations=1)
    rates.record(benchmark, "dense", N_BATCHED)
    assert np.abs(exp.chi2(signals) - chi2).max() < 1e-9


def test_minimizer_profile(benchmark, setup, rates):
    exp, signals = setup
    prof = exp.profiler
    per_day = signals[:N_MINIMIZER] / exp.exposure_days

    def run():
        return np.array([_minuit_profile(prof, s, (prof.theta0,)) for s in per_day])

    truth = benchmark.pedantic(run, rounds=1, iterations=1)
    rates.record(benchmark, "migrad", N_MINIMIZER)
    assert np.abs(exp.chi2(signals[:N_MINIMIZER]) - truth).max() < 1e-3
    if "batched" in rates:
        rates.report(benchmark, "Dresden-II profiled chi2")
