"""Dresden-II (130 bins, 7 nuisances): batched profiled χ² vs one MIGRAD fit per signal.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_dresden_ii.py --benchmark-only``. Both paths profile the same χ² on the same
random signals as tests/physics/test_dresden_ii_background.py (0–3× SM Fef CEvNS, tilted);
``extra_info`` holds evaluations per second, and the last benchmark prints the ratio.
Target (issue 10): ≥ 1e5 per second per core.
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

from test_dresden_ii_background import _minuit_profile  # noqa: E402

from nubound.physics.experiments.dresden_ii import DresdenII  # noqa: E402

N_BATCHED = 4096
N_MINIMIZER = 16
_RATES: dict[str, float] = {}


@pytest.fixture(scope="module")
def setup():
    exp = DresdenII()
    rng = np.random.default_rng(7)
    cevns = exp.sm_counts("fef")["Ge"]
    strength = rng.uniform(0.0, 3.0, N_BATCHED)
    tilt = rng.uniform(-1.0, 1.0, N_BATCHED)
    signals = strength[:, None] * cevns * np.exp(tilt[:, None] * (exp.energy_keV - 0.3) / 0.2)
    return exp, signals


def test_batched_profile(benchmark, setup):
    exp, signals = setup
    benchmark.pedantic(exp.chi2, args=(signals,), rounds=3, iterations=1)
    rate = N_BATCHED / benchmark.stats.stats.min
    benchmark.extra_info["evaluations_per_second"] = rate
    _RATES["batched"] = rate


def test_minimizer_profile(benchmark, setup):
    exp, signals = setup
    prof = exp.profiler
    per_day = signals[:N_MINIMIZER] / exp.exposure_days

    def run():
        return np.array([_minuit_profile(prof, s, (prof.theta0,)) for s in per_day])

    truth = benchmark.pedantic(run, rounds=1, iterations=1)
    rate = N_MINIMIZER / benchmark.stats.stats.min
    benchmark.extra_info["evaluations_per_second"] = rate
    _RATES["minimizer"] = rate
    assert np.abs(exp.chi2(signals[:N_MINIMIZER]) - truth).max() < 1e-3
    if "batched" in _RATES:
        print(
            f"\nDresden-II profiled chi2: batched {_RATES['batched']:.3g}/s, "
            f"MIGRAD {rate:.3g}/s, ratio {_RATES['batched'] / rate:.0f}"
        )
