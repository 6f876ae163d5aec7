"""COHERENT Ar (960 bins, 9 nuisances): batched profiled χ² vs one Migrad fit per signal.

Run: ``.venv/bin/python -m pytest benchmarks/bench_coherent_ar.py --benchmark-only`` (set
OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 for the one-core figure). All paths profile the same
χ² on the same random signals (tests/physics/test_coherent_ar_profile.py); ``extra_info`` holds
evaluations per second, and the last benchmark prints the ratios.
A third path is the first batched numpy algorithm (benchmarks/numpy_reference.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import ar_reference_args, reference_profile
from test_coherent_ar_profile import minuit_chi2, random_signals

from nubound.physics.experiments.coherent_ar import CoherentAr
from nubound.physics.statistics.profile import EXPERIMENT_TOLERANCE

N_BATCHED = 512
N_MINIMIZER = 8


@pytest.fixture(scope="module")
def setup():
    ar = CoherentAr()
    return ar, random_signals(ar.sm_signal(), N_BATCHED)


def test_batched_profile(benchmark, setup, rates):
    ar, signals = setup
    result = rates.time(benchmark, "batched", N_BATCHED, ar.profile, signals, rounds=7, warmup=1)
    benchmark.extra_info["newton_iterations_per_point"] = float(result.iterations.mean())
    print(f"\ncoherent_ar: {result.iterations.mean():.2f} Newton iterations per point")


def test_numpy_reference_profile(benchmark, setup, rates):
    exp, signals = setup
    chi2 = rates.time(benchmark, "first numpy", len(signals), reference_profile,
                      *ar_reference_args(exp, signals))
    # the experiments stop at a Newton decrement of EXPERIMENT_TOLERANCE: at or above the
    # reference's minimum, by less than that
    excess = exp.chi2(signals) - chi2
    assert excess.min() > -1e-8 and excess.max() < EXPERIMENT_TOLERANCE


def test_minimizer_profile(benchmark, setup, rates):
    ar, signals = setup

    def run():
        return np.array([minuit_chi2(ar.observed, s) for s in signals[:N_MINIMIZER]])

    rates.time(benchmark, "migrad", N_MINIMIZER, run)
    if "batched" in rates:
        rates.report(benchmark, "coherent_ar profiled chi2")
