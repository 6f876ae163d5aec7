"""XENONnT ⁸B (SR0–SR2, 243 bins, 6 nuisances, piecewise-linear yields): batched profiled χ²
vs Migrad per signal.

Run: ``.venv/bin/python -m pytest benchmarks/bench_xenonnt_b8.py --benchmark-only`` (set
OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 for the one-core figure). Both paths profile the same χ²
on the same random signals (tests/physics/test_xenonnt_b8_profile.py: Migrad from the origin
and the four quadrants, the smallest minimum kept, since the χ² is convex per quadrant only);
``extra_info`` holds evaluations per second, and the last benchmark prints the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_xenonnt_b8_profile import minuit_chi2, random_signals

from nubound.physics.experiments.xenonnt_b8 import XenonntB8

N_BATCHED = 2048
N_MINIMIZER = 8


@pytest.fixture(scope="module")
def setup():
    exp = XenonntB8()
    return exp, random_signals(exp.sm_signal(), exp.signal_nodes, N_BATCHED)


def test_batched_profile(benchmark, setup, rates):
    exp, signals = setup
    result = rates.time(benchmark, "batched", N_BATCHED, exp.profile, signals, rounds=5,
                        warmup=1)
    benchmark.extra_info["newton_iterations_per_point"] = float(result.iterations.mean())
    print(f"\nxenonnt_b8: {result.iterations.mean():.2f} Newton iterations per point "
          "(winning region; nine regions profiled per point)")


def test_minimizer_profile(benchmark, setup, rates):
    exp, signals = setup

    def run():
        return np.array([minuit_chi2(exp, s) for s in signals[:N_MINIMIZER]])

    truth = rates.time(benchmark, "migrad", N_MINIMIZER, run)
    np.testing.assert_allclose(exp.chi2(signals[:N_MINIMIZER]), truth, atol=1e-3)
    if "batched" in rates:
        rates.report(benchmark, "xenonnt_b8 profiled chi2")
