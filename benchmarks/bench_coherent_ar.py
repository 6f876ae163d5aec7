"""COHERENT Ar (960 bins, 9 nuisances): batched profiled χ² vs what a user would otherwise
run, in the same process.

Run: ``.venv/bin/python -m pytest benchmarks/bench_coherent_ar.py --benchmark-only -s`` (set
OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 for the one-core figure). All paths profile the same
χ² on the same random signals (tests/physics/test_coherent_ar_profile.py): nubound's compiled
batched profile; iminuit Migrad per signal with its default settings, with Migrad's numerical
gradient and with the analytic one; Migrad as the tests' truth (analytic gradient, strategy 2,
tol 1e-5, run twice); a vectorised numpy damped Newton over the batch
(benchmarks/numpy_reference.py). ``extra_info`` holds evaluations per second; the last
benchmark prints the ratios.
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
MIGRAD_PATHS = {  # label → options of the tests' Migrad profile
    "migrad default": {"tight": False, "gradient": False},
    "migrad default + analytic gradient": {"tight": False, "gradient": True},
    "migrad tests' truth": {"tight": True, "gradient": True},
}


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
    chi2 = rates.time(benchmark, "vectorised numpy", len(signals), reference_profile,
                      *ar_reference_args(exp, signals))
    # the experiments stop at a Newton decrement of EXPERIMENT_TOLERANCE: at or above the
    # reference's minimum, by less than that
    excess = exp.chi2(signals) - chi2
    assert excess.min() > -1e-8 and excess.max() < EXPERIMENT_TOLERANCE


@pytest.mark.parametrize("label, options", list(MIGRAD_PATHS.items()))
def test_minimizer_profile(benchmark, setup, rates, label, options):
    ar, signals = setup

    def run():
        return np.array([minuit_chi2(ar.observed, s, **options) for s in signals[:N_MINIMIZER]])

    chi2 = rates.time(benchmark, label, N_MINIMIZER, run)
    rates.above_exact(benchmark, label, chi2, ar.chi2(signals[:N_MINIMIZER]))
    if "batched" in rates and label == list(MIGRAD_PATHS)[-1]:
        rates.report(benchmark, "coherent_ar profiled chi2")
