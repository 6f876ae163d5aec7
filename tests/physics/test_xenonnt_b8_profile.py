"""The batched profiled χ² of XENONnT ⁸B equals a general minimizer (iminuit) to 1e-3.

Truth: Migrad on the same six-nuisance χ² (``likelihood.Model.expected``: piecewise linear in
tly, tqy; unit Gaussian pulls), started from the origin and from each quadrant (the χ² is
convex per quadrant only), the smallest minimum kept; 240 random signals: the SM signal at the
yield nodes scaled by 0–4, with random smooth distortions of each node (so the yield
directions vary from signal to signal).
"""

from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit

from nubound.physics.experiments.xenonnt_b8 import XenonntB8
from nubound.physics.statistics.poisson import poisson_chi2

N_SIGNALS = 240
STARTS = ((0.0, 0.0), (0.7, 0.7), (0.7, -0.7), (-0.7, 0.7), (-0.7, -0.7))


def random_signals(sm: np.ndarray, n_nodes: int, n: int, seed: int = 20261206) -> np.ndarray:
    rng = np.random.default_rng(seed)
    nodes = sm.reshape(n_nodes, -1)
    x = np.linspace(-1.0, 1.0, nodes.shape[1])
    out = np.empty((n, sm.size))
    for i in range(n):
        tilt = 1.0 + rng.uniform(-0.4, 0.4, size=(n_nodes, 1)) * x[None, :]
        out[i] = (rng.uniform(0.0, 4.0) * nodes * tilt).reshape(-1)
    return out


def minuit_chi2(exp: XenonntB8, signal: np.ndarray) -> float:
    model = exp.model
    nodes = signal.reshape(exp.signal_nodes, exp.n_bins)

    def cost(theta: np.ndarray) -> float:
        mu = model.expected(nodes, np.asarray(theta))
        if np.any(mu <= 0):
            return 1e30
        return float(poisson_chi2(model.observed, mu) + np.dot(theta, theta))

    best = np.inf
    for tly, tqy in STARTS:
        m = Minuit(cost, np.array([tly, tqy, 0.0, 0.0, 0.0, 0.0]))
        m.errordef = Minuit.LEAST_SQUARES
        m.strategy = 2
        m.tol = 1e-5
        m.migrad()
        m.migrad()
        best = min(best, float(m.fval))
    return best


@pytest.fixture(scope="module")
def exp() -> XenonntB8:
    return XenonntB8(runs=("sr0", "sr1"))


def test_profile_equals_minimizer(exp: XenonntB8):
    signals = random_signals(exp.sm_signal(), exp.signal_nodes, N_SIGNALS)
    res = exp.profile(signals)
    assert res.converged.all()
    truth = np.array([minuit_chi2(exp, s) for s in signals])
    # exact minimum: never above Migrad's by more than its tolerance, and equal to 1e-3
    np.testing.assert_allclose(res.chi2, truth, rtol=0, atol=1e-3)
    # the χ² is the model's value at the returned nuisances
    for s, theta, chi2 in zip(signals[:20], res.theta[:20], res.chi2[:20], strict=True):
        mu = exp.model.expected(s.reshape(exp.signal_nodes, -1), theta)
        assert poisson_chi2(exp.model.observed, mu) + theta @ theta == pytest.approx(chi2,
                                                                                     abs=1e-9)


def test_block_shape_and_huge_signals(exp: XenonntB8):
    sm = exp.sm_signal()
    block = np.stack([np.outer(np.array([0.0, 1.0, 1e3]), sm)] * 2)  # (2, 3, signal_size)
    chi2 = exp.chi2(block)
    assert chi2.shape == (2, 3)
    # a signal 1000 × the SM is excluded; not by more than the price of cancelling it with
    # the linear nuisances (θ_flux = −1/0.12: Δχ² ≈ 69, as the Ar signal normalisation)
    assert 25.0 < chi2[0, 2] - chi2[0, 1] < 1.0 / 0.12**2 + 5.0
    np.testing.assert_array_equal(chi2[0], chi2[1])


def test_signals_far_beyond_the_data_stay_finite_and_excluded(exp: XenonntB8):
    """Signals 30–10⁶ × SM (excluded couplings): finite χ², all > 25 above the best fit
    (their nuisances can cancel them only at a price; see docs/experiments/xenonnt_b8.md)."""
    mu = np.concatenate([[1.0], np.logspace(1.5, 6, 30)])
    chi2 = exp.chi2(mu[:, None] * exp.sm_signal())
    assert np.isfinite(chi2).all()
    assert (chi2[1:] - chi2[0] > 25.0).all()


def separate_priors_cost(exp: XenonntB8, nodes: np.ndarray, sigma_phi: float,
                         sigma_eff: float):
    """χ²(tly, tqy, θ_Φ, θ_ε, θ_ac, θ_er, θ_n) with the flux and efficiency priors apart."""

    def cost(theta: np.ndarray) -> float:
        shift = theta[2] * sigma_phi + theta[3] * sigma_eff  # θ_flux σ_Φ of the base model
        six = np.array([theta[0], theta[1], shift / sigma_phi, *theta[4:]])
        mu = exp.model.expected(nodes, six)
        if np.any(mu <= 0):
            return 1e30
        return float(poisson_chi2(exp.model.observed, mu) + np.dot(theta, theta))

    return cost


def test_signal_efficiency_nuisance_equals_two_separate_priors(exp: XenonntB8):
    """``signal_efficiency_uncertainty``: the profile with the flux and efficiency priors merged
    into one signal nuisance equals Migrad on the seven-nuisance χ² with both kept apart
    (θ_Φ σ_Φ s₀ + θ_ε σ_ε s₀); with the flux free, the efficiency prior alone."""
    sigma_eff = 0.25
    eff = XenonntB8(runs=("sr0", "sr1"), signal_efficiency_uncertainty=sigma_eff)
    sigma_phi = exp.model.flux_uncertainty
    signals = random_signals(exp.sm_signal(), exp.signal_nodes, 10, seed=7)
    for flux_free in (False, True):
        res = eff.profile(signals, flux_free=flux_free)
        assert res.converged.all()
        for s, chi2 in zip(signals, res.chi2, strict=True):
            cost = separate_priors_cost(exp, s.reshape(exp.signal_nodes, exp.n_bins),
                                        sigma_phi, sigma_eff)
            best = np.inf
            for tly, tqy in STARTS:
                m = Minuit(cost, np.array([tly, tqy, 0.0, 0.0, 0.0, 0.0, 0.0]))
                m.errordef = Minuit.LEAST_SQUARES
                m.strategy, m.tol = 2, 1e-5
                m.fixed[2] = flux_free  # no flux prior: the caller scans the flux
                m.migrad()
                m.migrad()
                best = min(best, float(m.fval))
            assert chi2 == pytest.approx(best, abs=1e-3)
