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


def _minuit_chi2(csi: CoherentCsI, signal: np.ndarray, *, tight: bool = True,
                 gradient: bool = False) -> float:
    """Migrad on the χ² written out: Poisson C bins + the AC constraint + Gaussian pulls
    (``tight``: strategy 2, tol 1e-6, run twice, the truth; else iminuit's default settings,
    one run), with Migrad's numerical gradient or the analytic one."""
    n = csi.observed
    comps = csi.background_components
    n_ac = csi.anticoincidence_events
    sig_s, _, sig_brn, sig_nin = csi.prior_sigma
    poisson_ss = csi.ss_constraint == "poisson"

    def cost(theta):  # a = 1 + θ_s: no digits cancel when a huge signal is scaled to ≈ 0
        a, tss, tbrn, tnin = theta
        mu = (signal * a + comps["steady_state"] * (1 + tss)
              + comps["brn"] * (1 + tbrn) + comps["nin"] * (1 + tnin))
        if np.any(mu <= 0) or tss <= -1:
            return 1e30
        pulls = ((a - 1) / sig_s) ** 2 + (tbrn / sig_brn) ** 2 + (tnin / sig_nin) ** 2
        if poisson_ss:  # AC count ~ Poisson(N_AC (1 + θ_ss)), saturated form
            ss_term = 2 * (n_ac * tss - n_ac * np.log1p(tss))
        else:
            ss_term = tss**2 * n_ac
        return float(poisson_chi2(n, mu) + pulls + ss_term)

    def grad(theta):  # ∂/∂θ_p of the cost: 2 Σ D_p (1 − n/μ) + pulls (+ the AC term)
        a, tss, tbrn, tnin = theta
        mu = (signal * a + comps["steady_state"] * (1 + tss)
              + comps["brn"] * (1 + tbrn) + comps["nin"] * (1 + tnin))
        dirs = np.stack([signal, comps["steady_state"], comps["brn"], comps["nin"]])
        g = 2.0 * dirs @ (1.0 - n / mu)
        g += 2.0 * np.array([(a - 1) / sig_s**2, 0.0, tbrn / sig_brn**2, tnin / sig_nin**2])
        g[1] += 2 * n_ac * tss / (1 + tss) if poisson_ss else 2 * tss * n_ac
        return g

    excess = n.sum() - sum(c.sum() for c in comps.values())
    a0 = min(1.0, max(excess, 1.0) / max(signal.sum(), 1e-300))
    m = Minuit(cost, np.array([a0, 0.0, 0.0, 0.0]), grad=grad if gradient else None)
    m.errordef = Minuit.LEAST_SQUARES
    if tight:
        m.strategy = 2
        m.tol = 1e-6
        m.migrad()
    m.migrad()
    return float(m.fval)


@pytest.mark.parametrize("constraint", ["poisson", "gaussian"])
def test_profiled_chi2_equals_the_minimizer_on_random_signals(csi, constraint):
    if constraint != csi.ss_constraint:
        csi = CoherentCsI(ss_constraint=constraint, include_electrons=False)
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


def test_poisson_and_gaussian_steady_state_constraints_agree_near_the_minimum(csi):
    gauss = CoherentCsI(ss_constraint="gaussian", include_electrons=False)
    strengths = np.linspace(0.0, 2.0, 21)[:, None]
    sm = gauss.sm_signal()
    fit = csi.profile(strengths * sm)
    diff = fit.chi2 - gauss.chi2(strengths * sm)
    # 2N[θ − ln(1+θ)] − Nθ² = −(2/3) N θ³ + (1/2) N θ⁴ − …, N = N_AC (to first order in the
    # small shift of the profiled θ between the two fits)
    theta = fit.theta[:, 1]
    n_ac = csi.anticoincidence_events
    expected = n_ac * (-2.0 / 3.0 * theta**3 + 0.5 * theta**4)
    np.testing.assert_allclose(diff, expected, rtol=0.15, atol=0.01)
    assert np.abs(diff).max() > 0.1  # the background-only fit pulls θ_ss by ≈ +9 %


@pytest.mark.parametrize("constraint", ["poisson", "gaussian"])
def test_asimov_data_fit_the_sm_exactly(csi, constraint):
    if constraint != csi.ss_constraint:
        csi = CoherentCsI(ss_constraint=constraint, include_electrons=False)
    asimov = csi.asimov()
    sm = csi.sm_signal()
    assert asimov.data_kind == "asimov" and csi.data_kind == "observed"
    assert asimov.channels() is csi.channels()  # shared, not rebuilt
    np.testing.assert_allclose(asimov.observed, sm + csi.background, rtol=1e-12)
    np.testing.assert_array_equal(csi.observed, csi_observed_counts())  # parent untouched
    fit = asimov.profile(np.stack([sm, 1.5 * sm]))
    assert fit.chi2[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(fit.theta[0], 0.0, atol=1e-6)
    # 1.5 × SM: the signal pull alone would cost (0.5/0.123)² ≈ 16.5 unprofiled; the fit
    # trades it against the backgrounds and the spectrum, but cannot absorb it
    assert fit.chi2[1] > 1.0
    assert fit.chi2[1] <= (0.5 / csi.prior_sigma[0]) ** 2


def csi_observed_counts():
    from nubound.physics.experiments import coherent_csi_data as csi_data

    return csi_data.binned_events("C").ravel()


def test_far_excluded_signals_converge_to_the_minimum(csi):
    # signals 1e3–1e7 × SM (large couplings of a mediator scan): Hessian entries spanning
    # 10¹⁰ and more; the profile must still reach Migrad's minimum and say converged
    # (1e13 × SM: the largest couplings of configs/paper_vector_*.toml; with the signal scaled
    # to ≈ 1e-13 of itself, the χ² was 1e-2 off while μ carried 1 + θ_s and its steps)
    sm = csi.sm_signal()
    signals = np.stack([1e3 * sm, 1e5 * sm, 1e7 * sm * np.linspace(0.5, 1.5, sm.size),
                        1e13 * sm * np.linspace(1.5, 0.5, sm.size)])
    res = csi.profile(signals)
    assert res.converged.all()
    truth = np.array([_minuit_chi2(csi, s) for s in signals])
    np.testing.assert_allclose(res.chi2, truth, rtol=0, atol=1e-3)
