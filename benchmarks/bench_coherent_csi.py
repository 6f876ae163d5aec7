"""COHERENT CsI 2021 (99 bins, 4 nuisances): batched profiled χ² vs one Migrad fit per signal.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_coherent_csi.py --benchmark-only``. Both paths profile the same χ² on the same
random signals as tests/physics/test_coherent_csi_profile.py; ``extra_info`` holds evaluations
per second, and the last benchmark prints the ratio. Target (issue 9): ≥ 1e5 per second per core.
The speed-up over the previous batched algorithm (same process): benchmarks/bench_profile.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_coherent_csi_profile import _minuit_chi2, _random_signals

from nubound.physics.experiments.coherent_csi import CoherentCsI

N_BATCHED = 4096
N_MINIMIZER = 16


@pytest.fixture(scope="module")
def setup():
    csi = CoherentCsI()
    return csi, _random_signals(csi.sm_signal(), N_BATCHED)


def test_batched_profile(benchmark, setup, rates):
    csi, signals = setup
    benchmark.pedantic(csi.chi2, args=(signals,), rounds=5, iterations=1)
    rates.record(benchmark, "batched", N_BATCHED)


def test_minimizer_profile(benchmark, setup, rates):
    csi, signals = setup

    def run():
        return np.array([_minuit_chi2(csi, s) for s in signals[:N_MINIMIZER]])

    benchmark.pedantic(run, rounds=2, iterations=1)
    rates.record(benchmark, "migrad", N_MINIMIZER)
    if "batched" in rates:
        rates.report(benchmark, "coherent_csi profiled chi2")
