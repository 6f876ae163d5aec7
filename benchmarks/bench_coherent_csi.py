"""COHERENT CsI 2021 (99 bins, 4 nuisances): batched profiled χ² vs what a user would
otherwise run, in the same process.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_coherent_csi.py --benchmark-only -s``. All paths profile the same χ² on the
same random signals as tests/physics/test_coherent_csi_profile.py: nubound's compiled batched
profile; iminuit Migrad per signal with its default settings, with Migrad's numerical gradient
and with the analytic one; Migrad as the tests' truth (strategy 2, tol 1e-6, run twice); a
vectorised numpy damped Newton over the whole batch (benchmarks/numpy_reference.py).
``extra_info`` holds evaluations per second; the last benchmark prints the ratios.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy_reference import csi_reference_args, reference_profile
from test_coherent_csi_profile import _minuit_chi2, _random_signals

from nubound.physics.experiments.coherent_csi import CoherentCsI
from nubound.physics.statistics.profile import EXPERIMENT_TOLERANCE

N_BATCHED = 4096
N_MINIMIZER = 16
MIGRAD_PATHS = {  # label → options of the tests' Migrad profile
    "migrad default": {"tight": False, "gradient": False},
    "migrad default + analytic gradient": {"tight": False, "gradient": True},
    "migrad tests' truth": {"tight": True, "gradient": False},
}


@pytest.fixture(scope="module")
def setup():
    csi = CoherentCsI()
    return csi, _random_signals(csi.sm_signal(), N_BATCHED)


def test_batched_profile(benchmark, setup, rates):
    csi, signals = setup
    rates.time(benchmark, "batched", N_BATCHED, csi.chi2, signals, rounds=7, warmup=1)


def test_numpy_reference_profile(benchmark, setup, rates):
    exp, signals = setup
    chi2 = rates.time(benchmark, "vectorised numpy", len(signals), reference_profile,
                      *csi_reference_args(exp, signals))
    # the experiments stop at a Newton decrement of EXPERIMENT_TOLERANCE: at or above the
    # reference's minimum, by less than that
    excess = exp.chi2(signals) - chi2
    assert excess.min() > -1e-8 and excess.max() < EXPERIMENT_TOLERANCE


@pytest.mark.parametrize("label, options", list(MIGRAD_PATHS.items()))
def test_minimizer_profile(benchmark, setup, rates, label, options):
    csi, signals = setup

    def run():
        return np.array([_minuit_chi2(csi, s, **options) for s in signals[:N_MINIMIZER]])

    chi2 = rates.time(benchmark, label, N_MINIMIZER, run)
    rates.above_exact(benchmark, label, chi2, csi.chi2(signals[:N_MINIMIZER]))
    if "batched" in rates and label == list(MIGRAD_PATHS)[-1]:
        rates.report(benchmark, "coherent_csi profiled chi2")
