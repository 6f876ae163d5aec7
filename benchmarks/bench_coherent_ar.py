"""COHERENT Ar (960 bins, 9 nuisances): batched profiled χ² vs one Migrad fit per signal.

Run: ``.venv/bin/python -m pytest benchmarks/bench_coherent_ar.py --benchmark-only`` (set
OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 for the one-core figure). Both paths profile the same
χ² on the same random signals (tests/physics/test_coherent_ar_profile.py); ``extra_info`` holds
evaluations per second, and the last benchmark prints the ratio.
The speed-up over the previous batched algorithm (same process): benchmarks/bench_profile.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "physics"))
os.environ.setdefault(
    "NUBOUND_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data")
)

from test_coherent_ar_profile import minuit_chi2, random_signals  # noqa: E402

from nubound.physics.experiments.coherent_ar import CoherentAr  # noqa: E402

N_BATCHED = 512
N_MINIMIZER = 8
_RATES: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup():
    ar = CoherentAr()
    return ar, random_signals(ar.sm_signal(), N_BATCHED)


def test_batched_profile(benchmark, setup):
    ar, signals = setup
    benchmark.pedantic(ar.chi2, args=(signals,), rounds=3, iterations=1)
    rate = N_BATCHED / benchmark.stats.stats.min
    benchmark.extra_info["evaluations_per_second"] = rate
    _RATES["batched"] = rate


def test_minimizer_profile(benchmark, setup):
    ar, signals = setup

    def run():
        return np.array([minuit_chi2(ar.observed, s) for s in signals[:N_MINIMIZER]])

    benchmark.pedantic(run, rounds=2, iterations=1)
    rate = N_MINIMIZER / benchmark.stats.stats.min
    benchmark.extra_info["evaluations_per_second"] = rate
    _RATES["minimizer"] = rate
    if "batched" in _RATES:
        ratio = _RATES["batched"] / rate
        benchmark.extra_info["speedup_batched_over_minimizer"] = ratio
        print(f"\ncoherent_ar: batched {_RATES['batched']:.0f}/s, Migrad {rate:.1f}/s, "
              f"ratio {ratio:.0f}")
