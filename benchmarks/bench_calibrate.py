"""Toy fits of the Feldman–Cousins calibration: batched kernels vs one Migrad fit per point.

Run: ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python -m pytest
benchmarks/bench_calibrate.py --benchmark-only -s``. COHERENT CsI, effective magnetic moment
μ_e on a 41-point line: a pseudo-experiment (``Experiment.toy_data``) is profiled over the whole
line (``Experiment.toy(values).chi2``), as ``nubound calibrate`` does; the reference fits the
same toys point by point with iminuit's Migrad (default settings, the χ² written out with the
toy's counts, its anti-coincidence count and its fluctuated pull centres). Rates are toy fits
(one toy × one grid point) per second on one core; the last benchmark prints the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit

from nubound.physics.experiments import get_experiment
from nubound.physics.models import get_model
from nubound.physics.statistics.neyman import ToyPart, toy_chi2
from nubound.physics.statistics.poisson import poisson_chi2

N_TOYS = 32
N_MIGRAD_TOYS = 1


@pytest.fixture(scope="module")
def setup():
    exp = get_experiment("coherent_csi")
    mu = np.geomspace(1e-11, 3e-8, 41)
    signals = np.asarray(get_model("magnetic_moment").signal_counts(
        exp, None, {"mu_e": mu, "mu_mu": 0.0})).reshape(mu.size, -1)
    toys = exp.toy_data(signals[30], np.random.default_rng(0), N_TOYS)
    return exp, signals, toys


def _migrad_line(exp, signals, values) -> np.ndarray:
    """χ² of one toy at every point of the line, one Migrad fit each."""
    nb = exp.n_bins
    n, n_ac, centre = values[:nb], values[nb], values[nb + 1:]
    comps = exp.background_components
    sig_s, _, sig_brn, sig_nin = exp.prior_sigma
    n_ac_nominal = exp.anticoincidence_events
    def cost_for(s):
        def cost(a, tss, tbrn, tnin):
            mu = (s * a + comps["steady_state"] * (1 + tss) + comps["brn"] * (1 + tbrn)
                  + comps["nin"] * (1 + tnin))
            if np.any(mu <= 0) or tss <= -1:
                return 1e30
            pulls = (((a - 1 - centre[0]) / sig_s) ** 2 + ((tbrn - centre[2]) / sig_brn) ** 2
                     + ((tnin - centre[3]) / sig_nin) ** 2)
            mu_ac = n_ac_nominal * (1 + tss)  # the AC count's Poisson term, toy count n_ac
            return float(poisson_chi2(n, mu) + pulls + poisson_chi2(np.array([n_ac]),
                                                                    np.array([mu_ac])))
        return cost

    out = []
    for s in signals:
        m = Minuit(cost_for(s), a=1.0, tss=0.0, tbrn=0.0, tnin=0.0)
        m.errordef = Minuit.LEAST_SQUARES
        m.migrad()
        out.append(m.fval)
    return np.array(out)


def test_batched_toy_fits(benchmark, setup, rates):
    exp, signals, toys = setup

    def run():
        return np.stack([exp.toy(row).chi2(signals) for row in toys])

    rates.time(benchmark, "batched", N_TOYS * len(signals), run, rounds=3, warmup=1)


def test_toy_chi2_with_generation(benchmark, setup, rates):
    exp, signals, _ = setup
    part = ToyPart(exp, signals[None])
    rates.time(benchmark, "batched incl. generation", N_TOYS * len(signals), toy_chi2, [part],
               30, N_TOYS, [np.random.default_rng(1)], rounds=3)


def test_migrad_toy_fits(benchmark, setup, rates):
    exp, signals, toys = setup
    chi2 = rates.time(benchmark, "migrad", N_MIGRAD_TOYS * len(signals),
                      lambda: np.stack([_migrad_line(exp, signals, r)
                                        for r in toys[:N_MIGRAD_TOYS]]))
    fast = exp.toy(toys[0]).chi2(signals)
    assert np.all(fast <= chi2[0] + 1e-3)  # the batched profile is never worse than Migrad
    rates.report(benchmark, "coherent_csi toy fits (one toy × one grid point)")
