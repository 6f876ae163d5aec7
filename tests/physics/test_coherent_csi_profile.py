"""COHERENT CsI 2021: the batched profiled χ² equals a general minimizer (iminuit) to 1e-3."""

import numpy as np
import pytest
from iminuit import Minuit

from nubound.physics.experiments.coherent_csi import CoherentCsI
from nubound.physics.statistics.poisson import poisson_chi2


@pytest.fixture(scope="module")
def csi():
    return CoherentCsI()


def _random_signals(sm: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    """0–3 × SM, half of them with distorted PE/time shapes (smooth tilts and bin noise)."""
    rng = np.random.default_rng(seed)
    strength = rng.uniform(0.0, 3.0, n)
    pe = np.repeat(np.linspace(-1, 1, 9), 11)
    time = np.tile(np.linspace(-1, 1, 11), 9)
    tilt = 1.0 + rng.uniform(-0.8, 0.8, (n, 1)) * pe + rng.uniform(-0.8, 0.8, (n, 1)) * time
    noise = np.exp(rng.normal(0.0, 0.4, (n, sm.size)))
    distorted = rng.uniform(size=(n, 1)) < 0.5
    shape = np.where(distorted, np.clip(tilt, 0.05, None) * noise, 1.0)
    return strength[:, None] * sm * shape


def _minuit_chi2(csi: CoherentCsI, signal: np.ndarray) -> float:
    n = csi.observed
    dirs = np.vstack([signal, csi._background_directions])
    sigma = csi.prior_sigma
    base = signal + csi.background

    def cost(theta):
        mu = base + theta @ dirs
        if np.any(mu <= 0):
            return 1e30
        return float(poisson_chi2(n, mu) + np.sum((theta / sigma) ** 2))

    m = Minuit(cost, np.zeros(4))
    m.errordef = Minuit.LEAST_SQUARES
    m.strategy = 2
    m.tol = 1e-6
    m.migrad()
    m.migrad()
    return float(m.fval)


def test_profiled_chi2_equals_the_minimizer_on_random_signals(csi):
    sm = csi.sm_signal()
    signals = _random_signals(sm, 280)
    result = csi.profile(signals)
    assert np.all(result.converged)
    fast = csi.chi2(signals)
    np.testing.assert_array_equal(fast, result.chi2)
    relevant = fast - fast.min() < 50.0
    assert relevant.sum() >= 200  # ≥ 200 signals within Δχ² < 50 of the best one
    for s, chi2 in zip(signals[relevant], fast[relevant], strict=True):
        assert chi2 == pytest.approx(_minuit_chi2(csi, s), abs=1e-3)


def test_profile_never_exceeds_the_unprofiled_chi2(csi):
    signals = _random_signals(csi.sm_signal(), 50, seed=11)
    nominal = poisson_chi2(csi.observed, signals + csi.background)
    assert np.all(csi.chi2(signals) <= nominal + 1e-9)
