"""Coverage of Feldman–Cousins intervals for a real experiment (docs/feldman-cousins.md).

COHERENT CsI, effective magnetic moment μ_e on a 41-point log grid: at true points (no
moment, and the Wilks 90 % limit) the critical value is calibrated at the neighbouring grid
points with one set of toys and interpolated to the truth (as ``nubound limits --method fc``
does); the fraction of an independent set of toys generated at the truth whose interval
contains it, t(truth) ≤ t_c(truth), must be 0.90 within 3 Monte Carlo σ (σ² = 0.09/N for
the fresh toys plus 0.09/N for the calibration's quantile).
"""

import numpy as np
import pytest

from nubound.physics.experiments import get_experiment
from nubound.physics.models import get_model
from nubound.physics.statistics.neyman import (
    ToyPart,
    critical_value,
    interpolate_critical,
    toy_test_statistics,
)

N_TOYS = 1000


@pytest.mark.slow
def test_fc_intervals_cover_at_90_percent():
    exp = get_experiment("coherent_csi")
    mu = np.geomspace(1e-11, 3e-8, 41)
    signals = np.asarray(get_model("magnetic_moment").signal_counts(
        exp, None, {"mu_e": mu, "mu_mu": 0.0})).reshape(mu.size, -1)
    part = ToyPart(exp, signals[None])
    chi2 = exp.chi2(signals)
    wilks_limit = int(np.argmax(chi2 - chi2.min() > 2.706))
    sigma = np.sqrt(2 * 0.09 / N_TOYS)
    for truth, calibrated in ((0, (0, 1)), (wilks_limit, (wilks_limit - 1, wilks_limit + 1))):
        crit = [critical_value(toy_test_statistics(
            [part], i, N_TOYS, [np.random.default_rng([1, i])]), 0.9) for i in calibrated]
        t_c = interpolate_critical(mu[truth], mu[list(calibrated)], crit, log=True)
        t = toy_test_statistics([part], truth, N_TOYS, [np.random.default_rng([2, truth])])
        coverage = float(np.mean(t <= t_c))
        assert abs(coverage - 0.9) < 3 * sigma, (truth, coverage, crit)
