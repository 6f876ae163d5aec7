"""Dresden-II background model and batched profiled χ² (experiments/dresden_ii_background.py).

Truth for the profiling: iminuit (MIGRAD with bounds, on the direct formula of background_rate
and the Jacobian written out here) started from the background-only fit and from a perturbed
point, on 200 random signals (0–3× the SM, tilted shapes). The compiled kernel's model and
Jacobian are checked against the same direct formulas.
"""

import numpy as np
import pytest
from iminuit import Minuit

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import dresden_ii_kernel as kernel
from nubound.physics.experiments import get_experiment
from nubound.physics.experiments.dresden_ii_background import (
    LOWER,
    PARAMETER_NAMES,
    UPPER,
    ProfiledChi2,
    background_rate,
)

DAYS = 96.4


@pytest.fixture(scope="module")
def exp():
    return get_experiment("dresden_ii")


def test_peak_shapes():
    e = np.linspace(-1.0, 3.0, 400001)
    theta = np.array([80.0, 1.297, 0.07, 0.0, 0.0, 0.0, 1.2])
    b = background_rate(theta, e)
    # L1 peak height h at c (the L2 and M tails are negligible there)
    assert background_rate(theta, np.array([1.297]))[0] == pytest.approx(80.0, rel=1e-3)
    # area ratio M/L1 = 0.16 a_M (docs/experiments/dresden_ii.md#likelihood): integrate around each
    # peak
    # (the L1 window also holds the L2 peak, of area 0.008 × L1)
    m = e < 0.65
    l1 = e > 0.65
    assert np.trapezoid(b[m], e[m]) / np.trapezoid(b[l1], e[l1]) == pytest.approx(
        0.16 * 1.2 / 1.008, rel=1e-6
    )
    flat = background_rate(np.array([0.0, 1.3, 0.07, 3.0, 2.0, 1.5, 1.0]), np.array([0.0, 1.0]))
    assert flat == pytest.approx([5.0, 3.0 + 2.0 * np.exp(-1.5)])


def test_asimov_gives_zero(exp):
    theta = np.array([84.5, 1.2922, 0.0693, 14.25, 156.3, 4.13, 1.0])
    signal = exp.sm_counts("fef")["Ge"] / DAYS
    asimov = background_rate(theta, exp.energy_keV) + signal
    prof = ProfiledChi2(exp.energy_keV, asimov, exp.table[:, 2])
    res = prof.profile(signal)
    assert res.chi2 == pytest.approx(0.0, abs=1e-6)
    assert res.theta == pytest.approx(theta, rel=1e-4)


def test_batch_shapes_and_bounds(exp):
    signal = np.outer(np.linspace(0, 2, 6), exp.sm_counts("fef")["Ge"]).reshape(2, 3, 130)
    res = exp.profile(signal)
    assert res.chi2.shape == (2, 3) and res.theta.shape == (2, 3, 7)
    assert np.all(res.theta >= LOWER) and np.all(res.theta <= UPPER)
    assert exp.chi2(signal) == pytest.approx(res.chi2)
    # profiled χ² never exceeds χ² at the background-only fit's θ
    at_theta0 = exp.profiler.chi2_at(signal.reshape(6, 130) / DAYS, np.tile(exp.profiler.theta0,
                                                                            (6, 1)))
    assert np.all(res.chi2.ravel() <= at_theta0 + 1e-9)


def _minuit_profile(prof, signal, starts, *, gradient: bool = True):
    """min over ``starts`` of Migrad (default settings) with the analytic gradient (or
    Migrad's numerical one) on the χ² written out."""
    e = prof.energy_keV

    def residual(th):
        with np.errstate(under="ignore"):
            return (prof.rate - signal - background_rate(th, e)) * prof.inv_sigma

    def cost(th):
        r = residual(np.asarray(th))
        return float(r @ r + ((th[6] - 1.0) / 0.03) ** 2)

    def grad(th):  # analytic gradient from the model's Jacobian (only speeds MIGRAD up)
        th = np.asarray(th)
        with np.errstate(under="ignore"):
            jac = _direct_jacobian(th[None, :], e)[0] * prof.inv_sigma
        g = -2.0 * (jac @ residual(th))
        g[6] += 2.0 * (th[6] - 1.0) / 0.03**2
        return g

    best = np.inf
    for start in starts:
        m = Minuit(cost, np.array(start), grad=grad if gradient else None,
                   name=PARAMETER_NAMES)
        m.errordef = Minuit.LEAST_SQUARES
        m.limits = [(lo, None if np.isinf(hi) else hi) for lo, hi in zip(LOWER, UPPER, strict=True)]
        m.migrad()
        best = min(best, m.fval)
    return best


def test_batched_profile_matches_minuit(exp):
    rng = np.random.default_rng(20220221)
    n = 200
    cevns = exp.sm_counts("fef")["Ge"] / DAYS
    strength = rng.uniform(0.0, 3.0, n)
    tilt = rng.uniform(-1.0, 1.0, n)
    signals = strength[:, None] * cevns * np.exp(tilt[:, None] * (exp.energy_keV - 0.3) / 0.2)
    prof = exp.profiler
    batched = prof(signals)
    chi2_min = batched.min()
    theta0 = prof.theta0
    perturbed = theta0 * np.array([1.05, 1.0, 1.1, 0.8, 0.7, 0.9, 1.0])
    truth = np.array([_minuit_profile(prof, s, (theta0, perturbed)) for s in signals])
    relevant = truth - chi2_min < 50.0
    assert relevant.sum() > 100
    assert np.abs(batched - truth)[relevant].max() <= 1e-3
    # the batched result is a true minimum: MIGRAD never finds anything lower by more than 1e-3
    assert np.all(batched <= truth + 1e-3)


def test_huge_signals_profile_without_numerical_warnings():
    # large couplings in a scan give signals far above the data; the Gauss–Newton trial
    # points then push the background peaks far off, which must not overflow (pytest turns
    # RuntimeWarnings into errors) and must give finite χ² growing with the excess
    from nubound.physics.rates import sm_rates

    exp = get_experiment("dresden_ii")
    sm = exp.expected_counts(sm_rates(exp.channels("fef")), "fef")
    ramp = np.linspace(0.0, 1.0, sm.size) ** 3
    signals = np.array([sm * k + ramp * extra for k, extra in
                        [(1, 0.0), (10, 0.0), (100, 1e4), (1e3, 1e5), (1e4, 1e6)]])
    chi2 = exp.chi2(signals)
    assert np.all(np.isfinite(chi2))
    assert np.all(np.diff(chi2) > 0)


def _random_thetas(prof, n, rng):
    """θ around the background-only fit, plus far-off trial-like points (narrow/wide peaks)."""
    near = prof.theta0 * (1 + 0.05 * rng.standard_normal((n, 7)))
    far = np.column_stack([
        rng.uniform(0, 150, n), rng.uniform(0.5, 1.5, n), 10 ** rng.uniform(-3.5, 0.6, n),
        rng.uniform(0, 50, n), rng.uniform(0, 500, n), 10 ** rng.uniform(-2, 2.5, n),
        rng.uniform(0, 1.5, n)])
    return np.clip(np.concatenate([near, far]), LOWER, UPPER)


def _direct_jacobian(theta, e):
    """∂b/∂θ (N, 7, nE) term by term from the formula of background_rate (one exp per bin)."""
    h, c, w, _, b, cexp, a_m = (theta[:, i, None] for i in range(7))
    g1 = np.exp(-((e - c) ** 2) / (2 * w**2))
    g2 = 0.008 * np.exp(-((e - 1.142) ** 2) / (2 * w**2))
    m = 0.16 / 0.0685 * np.exp(-((e - 0.158) ** 2) / (2 * 0.0685**2))
    ex = np.exp(-cexp * e)
    return np.stack([
        g1 + g2 + a_m * w * m,
        h * g1 * (e - c) / w**2,
        h * (g1 * (e - c) ** 2 + g2 * (e - 1.142) ** 2) / w**3 + h * a_m * m,
        np.ones_like(g1),
        ex,
        -b * e * ex,
        h * w * m,
    ], axis=1)


def _kernel_jacobian(prof, signal, theta):
    """The compiled kernel's weighted Jacobian (N, 7, nb) and residual (N, nb)."""
    out = np.empty((theta.shape[0], 8, prof.rate.size))
    kernel.jacobian_block(signal, theta, prof._background, out)
    return out[:, :7], out[:, 7]


def test_kernel_model_matches_direct_formula(exp):
    # the kernel builds the Gaussians and exp(−CE) from running products; compare with
    # background_rate (direct exp per bin), near the fit and at far-off points
    prof = exp.profiler
    rng = np.random.default_rng(5)
    theta = _random_thetas(prof, 300, rng)
    signal = rng.uniform(0, 5, (theta.shape[0], exp.n_bins))
    _, r = _kernel_jacobian(prof, signal, theta)
    with np.errstate(under="ignore"):
        b = background_rate(theta, exp.energy_keV)
    direct = (prof.rate - signal - b) * prof.inv_sigma
    scale = (prof.rate + signal + b) * prof.inv_sigma
    assert np.all(np.abs(r - direct) <= 1e-12 * scale)


def test_kernel_normal_equations_match_dense_jacobian(exp):
    # the kernel's Jacobian, JᵀJ and Jᵀr against the analytic Jacobian (N, 7, n_bins) above
    prof = exp.profiler
    rng = np.random.default_rng(6)
    theta = _random_thetas(prof, 200, rng)
    signal = rng.uniform(0, 5, (theta.shape[0], exp.n_bins))
    with np.errstate(under="ignore"):
        jac_d = _direct_jacobian(theta, exp.energy_keV) * prof.inv_sigma
        r_d = (prof.rate - signal - background_rate(theta, exp.energy_keV)) * prof.inv_sigma
    jac_r = np.empty((theta.shape[0], 8, exp.n_bins))
    kernel.jacobian_block(signal, theta, prof._background, jac_r)
    gram, grad = np.empty((theta.shape[0], 7, 7)), np.empty((theta.shape[0], 7))
    for n in range(theta.shape[0]):
        kernel._normal_equations(jac_r[n], gram[n], grad[n])
    gram_d = jac_d @ jac_d.transpose(0, 2, 1)
    grad_d = (jac_d @ r_d[:, :, None])[:, :, 0]
    # entrywise against the Cauchy–Schwarz scale sqrt(G_ii G_jj)
    d = np.sqrt(np.einsum("nii->ni", gram_d))
    assert np.all(np.abs(jac_r[:, :7] - jac_d) <= 1e-10 * d[:, :, None] + 1e-300)
    assert np.all(np.abs(gram - gram_d) <= 1e-10 * d[:, :, None] * d[:, None, :] + 1e-300)
    assert np.all(np.abs(grad - grad_d) <= 1e-10 * d * np.linalg.norm(r_d, axis=1)[:, None])


def test_batch_with_far_excluded_signals_matches_point_by_point():
    # a light-scalar coupling column spans χ² from ~1e2 to ~1e26; the huge signals once made
    # the batch's normal equations singular (LinAlgError), aborting scan blocks
    from nubound.physics.models import get_model

    exp = get_experiment("dresden_ii")
    signals = get_model("scalar_universal").signal_counts(
        exp, "ybe", {"mass_MeV": np.array([[10.0]]), "coupling": np.geomspace(1e-8, 1e-2, 161)}
    )[0]
    batch = exp.chi2(signals)
    assert np.all(np.isfinite(batch))
    for i in (0, 100, 140, 160):
        assert batch[i] == pytest.approx(float(exp.chi2(signals[i])), rel=1e-9, abs=1e-6)


def test_bounds_held_where_the_data_press_on_them(exp):
    # a flat or low-energy excess larger than the fitted flat term A ≈ 14 would need A < 0:
    # the fit must stop on the bound A = 0 (not below) and still be the bounded minimum
    prof = exp.profiler
    low = np.exp(-(exp.energy_keV - 0.2) / 0.1)
    signals = np.array([14.5 * np.ones(exp.n_bins), 15.0 * np.ones(exp.n_bins), 150.0 * low])
    res = prof.profile(signals)
    assert np.all(res.theta >= LOWER) and np.all(res.theta <= UPPER)
    assert np.all(res.theta[:, PARAMETER_NAMES.index("A")] == 0.0)
    theta0 = prof.theta0
    perturbed = theta0 * np.array([1.05, 1.0, 1.1, 0.8, 0.7, 0.9, 1.0])
    truth = np.array([_minuit_profile(prof, s, (theta0, perturbed)) for s in signals])
    assert res.chi2 == pytest.approx(truth, abs=1e-3)


def test_signal_of_wrong_length_is_an_error(exp):
    prof = exp.profiler
    with pytest.raises(PhysicsInputError, match=r"\(\.\.\., 130\)"):
        prof.profile(np.zeros((4, 129)))
    with pytest.raises(PhysicsInputError, match=r"\(\.\.\., 130\)"):
        prof(np.float64(1.0))
    # the compiled kernel does not index past the grid either
    with pytest.raises(ValueError, match="do not match"):
        kernel.profile_block(np.zeros((2, 129)), prof._background, prof._linearisation,
                             prof._fits(2))


def test_slow_valley_fit_reaches_the_minimum(exp):
    # a B−L mediator signal (0.01 MeV, g = 1.78e-6, Fef; Δχ² ≈ 17 above the scan's minimum)
    # whose fit crawls along the flat/exponential valley (A, B, C nearly degenerate for small
    # C): 60 Levenberg–Marquardt steps stopped 0.07 above Migrad's minimum
    from nubound.physics.models import get_model

    params = {"mass_MeV": 0.01, "coupling": 1.778279410038923e-06, "interference": "standard"}
    signal = get_model("vector_b_minus_l").signal_counts(exp, "fef", params)
    prof = exp.profiler
    truth = _minuit_profile(prof, signal / DAYS, (prof.theta0,))
    assert exp.chi2(signal) <= truth + 1e-3
    assert exp.chi2(signal) == pytest.approx(truth, abs=1e-3)


def test_fits_that_stop_early_are_flagged(exp):
    # a non-finite signal: no step lowers χ², the fit ends at its damping limit
    prof = exp.profiler
    signal = np.zeros((3, exp.n_bins))
    signal[1, 40] = np.nan
    signal[2, 7] = np.inf
    assert prof.profile(signal).converged.tolist() == [True, False, False]
    # real pathological signals: a 20.9 MeV universal vector mediator, couplings near 1.8e-4
    # (~1e5 × the data, χ² ≈ 5e7); the flagged fits end far above the minimum (Migrad), the
    # others in the same column agree with it
    from nubound.physics.models import get_model

    couplings = np.array([1e-6, 1e-5, 1.7946024402973164e-4, 1.005 * 1.7946024402973164e-4])
    signals = get_model("vector_universal").signal_counts(
        exp, "fef", {"mass_MeV": np.array([[20.852058572487536]]), "coupling": couplings[None]}
    )[0] / exp.exposure_days
    res = prof.profile(signals)
    assert res.converged.tolist() == [True, True, False, False]
    for s, chi2, converged, theta in zip(signals, res.chi2, res.converged, res.theta,
                                         strict=True):
        truth = _minuit_profile(prof, s, (prof.theta0, theta))
        if converged:
            assert chi2 == pytest.approx(truth, abs=1e-3)
        else:
            assert chi2 > truth + 1e3  # the flag is no false alarm
