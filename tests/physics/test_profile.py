"""Batched linear-nuisance profiling against a general minimizer (iminuit) and analytic cases."""

import numpy as np
import pytest
from iminuit import Minuit

from nubound.physics.errors import PhysicsInputError
from nubound.physics.statistics import profile as profile_module
from nubound.physics.statistics.poisson import poisson_chi2
from nubound.physics.statistics.profile import linear_response, profile_linear_poisson


def test_single_free_normalisation_has_closed_form():
    # μ = (1+θ) s: the minimum is at 1+θ = Σn/Σs, χ² = Poisson χ² of the rescaled shape
    rng = np.random.default_rng(1)
    s = rng.uniform(1, 20, 30)
    n = rng.poisson(1.7 * s).astype(float)
    res = profile_linear_poisson(n, s, s[None, :], [np.inf])
    k = n.sum() / s.sum()
    assert res.theta[0] == pytest.approx(k - 1, rel=1e-9)
    assert res.chi2 == pytest.approx(poisson_chi2(n, k * s), rel=1e-10)


def test_gaussian_limit_of_a_pulled_normalisation():
    # one bin, huge counts: the Poisson χ² is Gaussian to O(1/√n), so θ̂ matches the
    # weighted least-squares solution to ~1e-3
    b, sigma = 1e6, 0.01
    n = np.array([1.02e6])
    res = profile_linear_poisson(n, [b], [[b]], [sigma])
    # Gaussian approximation: χ² = (n − b(1+θ))²/n + θ²/σ²
    var_stat = n[0]
    theta_g = (n[0] - b) * b / (b**2 + var_stat / sigma**2)
    assert res.theta[0] == pytest.approx(theta_g, rel=1e-3)


def _minuit_profile(n, base, d, sigma, starts):
    inv = np.where(np.isinf(sigma), 0, 1 / sigma**2)

    def cost(theta):
        mu = base + theta @ d
        if np.any(mu <= 0):
            return 1e30
        return float(poisson_chi2(n, mu) + np.sum(theta**2 * inv))

    best = np.inf
    for start in starts:
        m = Minuit(cost, np.asarray(start, dtype=float))
        m.errordef = Minuit.LEAST_SQUARES
        m.strategy = 2
        m.tol = 1e-6
        m.migrad()
        best = min(best, m.fval)
    return best


def test_batch_agrees_with_minuit_on_random_problems():
    rng = np.random.default_rng(7)
    n_bins = 25
    bkg = rng.uniform(2, 30, (3, n_bins))
    sigma = np.array([np.inf, 0.1, 0.25, 0.5])
    signals = rng.uniform(0, 3, (40, 1)) * rng.uniform(0.5, 10, n_bins) * np.linspace(
        0.5, 1.5, n_bins) ** rng.uniform(-2, 2, (40, 1))
    truth = signals[0] + bkg.sum(0)
    n = rng.poisson(truth).astype(float)
    base = signals + bkg.sum(0)
    d = np.concatenate([signals[:, None, :], np.broadcast_to(bkg, (40, 3, n_bins))], axis=1)
    res = profile_linear_poisson(n, base, d, sigma)
    assert res.converged.all()
    for i in range(40):
        ref = _minuit_profile(n, base[i], d[i], sigma, [np.zeros(4), [-0.5, 0.1, -0.1, 0.2]])
        assert res.chi2[i] <= ref + 1e-6
        assert res.chi2[i] == pytest.approx(ref, abs=1e-3)


def test_empty_bin_with_zero_expectation_adds_nothing():
    # bin 2: n = 0 and μ = 0 for every θ; its term must be 0, not a finite offset
    n = np.array([10.0, 5.0, 0.0])
    s = np.array([10.0, 5.0, 0.0])
    res = profile_linear_poisson(n, s, s[None, :], [np.inf])
    assert res.chi2 == pytest.approx(0.0, abs=1e-9)


def test_start_point_does_not_change_the_minimum():
    rng = np.random.default_rng(3)
    bkg = rng.uniform(1, 10, (2, 12))
    n = rng.poisson(bkg.sum(0)).astype(float)
    a = profile_linear_poisson(n, bkg.sum(0), bkg, [0.2, np.inf])
    b = profile_linear_poisson(n, bkg.sum(0), bkg, [0.2, np.inf], start=[0.3, -0.4])
    assert b.chi2 == pytest.approx(float(a.chi2), abs=1e-9)


def _structured_problem(n_points, seed, fractional=False):
    """Signals s (points, bins); scaled rows R; shared rows S; data with empty bins."""
    rng = np.random.default_rng(seed)
    n_bins = 30
    shared = rng.uniform(1, 20, (3, n_bins))
    shared[2] = rng.normal(0, 2, n_bins)  # a shape systematic: signed direction
    scaled = np.stack([np.ones(n_bins), rng.uniform(-0.3, 0.3, n_bins)])
    signals = rng.uniform(0, 3, (n_points, 1)) * rng.uniform(0.2, 8, (n_points, n_bins))
    signals[0] = 0.0  # no signal: the free signal normalisation is a flat direction
    truth = shared[:2].sum(0) + signals[1]
    n = truth * rng.uniform(0.8, 1.2, n_bins) if fractional else rng.poisson(truth) * 1.0
    if fractional:
        n[[5, 11, 23]] = [0.3, 0.05, 0.7]
    n[[3, 7, 19]] = 0.0
    base = signals + shared[:2].sum(0)
    sigma = np.array([np.inf, 0.2, 0.1, 0.3, 1.0])
    return n, base, signals, scaled, shared, sigma


def test_shared_and_scaled_directions_equal_the_general_form():
    # the matrix-product assembly (shared, scaled) against the per-point one (directions)
    n, base, s, scaled, shared, sigma = _structured_problem(400, 5)  # > 64 P: Cholesky
    general = np.concatenate(
        [s[:, None, :] * scaled, np.broadcast_to(shared, (len(s),) + shared.shape)], axis=1)
    a = profile_linear_poisson(n, base, general, sigma)
    b = profile_linear_poisson(n, base, None, sigma, scaled_directions=scaled, scale=s,
                               shared_directions=shared)
    c = profile_linear_poisson(n, base, s[:, None, :] * scaled, sigma,
                               shared_directions=shared)
    # (a few points have their minimum on the boundary μ = 0 of an empty bin: not flagged
    # converged by any form, same point found)
    assert a.converged.mean() > 0.95
    np.testing.assert_array_equal(b.converged, a.converged)
    np.testing.assert_array_equal(c.converged, a.converged)
    np.testing.assert_allclose(b.chi2, a.chi2, rtol=0, atol=1e-8)
    np.testing.assert_allclose(c.chi2, a.chi2, rtol=0, atol=1e-8)
    np.testing.assert_allclose(b.theta[1:], a.theta[1:], rtol=0, atol=1e-6)


@pytest.mark.parametrize("fractional", [False, True])
def test_scaled_and_shared_form_agrees_with_minuit(fractional):
    # fractional: Asimov-like data with 0 < n < 1 in some bins (self-concordance constant > 2)
    n, base, s, scaled, shared, sigma = _structured_problem(12, 9, fractional)
    if fractional:
        assert np.any((n > 0) & (n < 1))
    res = profile_linear_poisson(n, base, None, sigma, scaled_directions=scaled, scale=s,
                                 shared_directions=shared)
    assert res.converged.all()
    for i in range(1, len(s)):
        d = np.concatenate([s[i] * scaled, shared])
        ref = _minuit_profile(n, base[i], d, sigma, [np.zeros(5)])
        assert res.chi2[i] <= ref + 1e-6
        assert res.chi2[i] == pytest.approx(ref, abs=1e-3)
        mu = base[i] + res.theta[i] @ d
        inv = np.where(np.isinf(sigma), 0, 1 / sigma**2)
        assert res.chi2[i] == pytest.approx(
            poisson_chi2(n, mu) + np.sum(res.theta[i] ** 2 * inv), abs=1e-9)


def test_equal_counts_share_logarithms_also_for_extreme_expectations():
    # 64 bins with n = 2 (one logarithm per 16 bins) and expectations whose 16-fold products
    # overflow (1e20) or underflow (1e-20): the χ² must still equal the plain sum
    n = np.full(64, 2.0)
    shape = np.linspace(0.5, 1.5, 64)
    base = np.array([1.0, 1e20, 1e-20])[:, None] * shape
    res = profile_linear_poisson(n, base, None, [1e-3], shared_directions=[shape])
    mu = base + res.theta * shape
    expected = poisson_chi2(n, mu) + (res.theta[:, 0] / 1e-3) ** 2
    np.testing.assert_allclose(res.chi2, expected, rtol=1e-12)


def test_linear_response_is_the_derivative_of_the_profile():
    # implicit-function derivative dθ̂/ds against central finite differences of θ̂(s)
    n, base, s, scaled, shared, sigma = _structured_problem(3, 11)
    background = shared[:2].sum(0)
    resp = linear_response(n, background, s[1], sigma, scaled_directions=scaled,
                           shared_directions=shared)

    def theta(signal):
        return profile_linear_poisson(n, background + signal, None, sigma,
                                      scaled_directions=scaled, scale=signal,
                                      shared_directions=shared).theta

    delta = np.random.default_rng(2).uniform(-0.5, 0.5, s.shape[1]) * s[1]
    eps = 1e-4
    numeric = (theta(s[1] + eps * delta) - theta(s[1] - eps * delta)) / (2 * eps)
    np.testing.assert_allclose(resp.gain @ delta, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(resp.theta, theta(s[1]), rtol=0, atol=1e-12)
    # a start from the response gives the same minimum as the default start
    a = profile_linear_poisson(n, base, None, sigma, scaled_directions=scaled, scale=s,
                               shared_directions=shared, start=resp.start(s))
    b = profile_linear_poisson(n, base, None, sigma, scaled_directions=scaled, scale=s,
                               shared_directions=shared)
    np.testing.assert_allclose(a.chi2, b.chi2, rtol=0, atol=1e-8)


def _structured_fit(n, base, s, scaled, shared, sigma, **kw):
    return profile_linear_poisson(n, base, None, sigma, scaled_directions=scaled, scale=s,
                                  shared_directions=shared, **kw)


def test_scaled_base_equals_the_summed_base():
    # base + scale ⊙ scaled_base (no (N, n_bins) sum) is the same model as the summed base
    n, base, s, scaled, shared, sigma = _structured_problem(50, 12)
    background = shared[:2].sum(0)
    a = _structured_fit(n, base, s, scaled, shared, sigma)
    b = _structured_fit(n, background, s, scaled, shared, sigma,
                        scaled_base=np.ones(n.size))
    half = _structured_fit(n, background + 0.5 * s, s, scaled, shared, sigma,
                           scaled_base=np.full(n.size, 0.5))
    for other in (b, half):
        np.testing.assert_allclose(other.chi2, a.chi2, rtol=0, atol=1e-9)
        np.testing.assert_allclose(other.theta, a.theta, rtol=0, atol=1e-7)


def test_start_gain_equals_the_explicit_start():
    # start + gain[reference] @ scale inside the kernel = the same start given explicitly
    n, base, s, scaled, shared, sigma = _structured_problem(40, 13)
    rng = np.random.default_rng(3)
    gain = rng.normal(0, 0.01, (2, 5, n.size))
    offset = rng.normal(0, 0.1, (len(s), 5))
    reference = rng.integers(-1, 2, len(s))
    explicit = offset + np.where(reference[:, None] >= 0,
                                 np.einsum("ikb,ib->ik", gain[reference], s), 0.0)
    a = _structured_fit(n, base, s, scaled, shared, sigma, start=explicit)
    b = _structured_fit(n, base, s, scaled, shared, sigma, start=offset, start_gain=gain,
                        start_reference=reference)
    np.testing.assert_allclose(b.chi2, a.chi2, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(b.iterations, a.iterations)
    with pytest.raises(PhysicsInputError, match="start_reference"):
        _structured_fit(n, base, s, scaled, shared, sigma, start_gain=gain,
                        start_reference=np.full(len(s), 2))
    with pytest.raises(PhysicsInputError, match="start_gain must have shape"):
        _structured_fit(n, base, s, scaled, shared, sigma, start_gain=gain[:, :4],
                        start_reference=reference)
    with pytest.raises(PhysicsInputError, match="needs a scale"):
        profile_linear_poisson(n, base, None, sigma[2:], shared_directions=shared,
                               start_gain=gain[:, 2:])


@pytest.mark.parametrize("tolerance", [1e-4, 1e-6])
def test_tolerance_bounds_the_distance_to_the_minimum(tolerance):
    # Newton stops once its decrement gᵀH⁻¹g (or the bound on it from the previous Hessian,
    # Nesterov Thm 4.1.6) is below the tolerance: χ² then lies within ≈ tolerance/2 of the
    # minimum, here taken from a run to 1e-13
    n, base, s, scaled, shared, sigma = _structured_problem(300, 14)
    tight = _structured_fit(n, base, s, scaled, shared, sigma, tolerance=1e-13)
    loose = _structured_fit(n, base, s, scaled, shared, sigma, tolerance=tolerance)
    ok = tight.converged & loose.converged
    assert ok.mean() > 0.95
    excess = loose.chi2[ok] - tight.chi2[ok]
    assert excess.min() > -1e-9
    assert excess.max() < tolerance
    assert loose.iterations.mean() < tight.iterations.mean()


def test_merged_blocks_cover_the_support_and_change_nothing(monkeypatch):
    # blocks of bins are merged where that makes the sums cheaper: every bin's directions
    # stay inside its block's, and the profile is the same as with one block per pattern
    n, base, s, scaled, shared, sigma = _structured_problem(60, 15)
    s[:, :12] = 0.0  # the signal lives in part of the bins only
    shared[1, 20:] = 0.0
    support = np.concatenate([(scaled != 0) & (s != 0).any(axis=0), shared != 0])
    layouts = {}
    results = {}
    for overhead in (0, 10_000):
        monkeypatch.setattr(profile_module, "_BLOCK_OVERHEAD_BINS", overhead)
        monkeypatch.setattr(profile_module, "_LAYOUTS", {})
        layouts[overhead] = profile_module._Layout(n, support)
        results[overhead] = _structured_fit(n, base, s, scaled, shared, sigma)
    separate, merged = layouts[0], layouts[10_000]
    assert merged.blocks[0].size < separate.blocks[0].size
    bounds, ptr, rows = merged.blocks
    for j in range(bounds.size - 1):
        bins = merged.pos[bounds[j]:bounds[j + 1]]
        outside = np.setdiff1d(np.arange(support.shape[0]), rows[ptr[j]:ptr[j + 1]])
        assert not support[np.ix_(outside, bins)].any()
    np.testing.assert_allclose(results[10_000].chi2, results[0].chi2, rtol=0, atol=1e-9)


def test_remembered_layouts_follow_the_support():
    # a layout is remembered per (counts, support): signals vanishing in other bins must not
    # reuse it (a direction summed over too few bins would change the χ²)
    n, base, s, scaled, shared, sigma = _structured_problem(20, 16)
    first = s.copy()
    first[:, 10:] = 0.0
    fresh = [_structured_fit(n, shared[:2].sum(0) + x, x, scaled, shared, sigma).chi2
             for x in (first, s)]
    again = [_structured_fit(n, shared[:2].sum(0) + x, x, scaled, shared, sigma).chi2
             for x in (s, first)]
    np.testing.assert_array_equal(again[0], fresh[1])
    np.testing.assert_array_equal(again[1], fresh[0])
    assert not np.allclose(fresh[0], fresh[1])


def test_counts_share_one_logarithm_across_many_products():
    # 600 bins with counts 1, 2, 3 and expectations spanning 1e-5–1e5: each count's running
    # product leaves (1e-100, 1e100) many times over, is renormalised (frexp), and must give
    # the plain sum of logarithms
    rng = np.random.default_rng(17)
    n = rng.integers(1, 4, 600).astype(float)
    shape = 10.0 ** rng.choice([-5.0, 5.0], 600) * rng.uniform(0.5, 2, 600)
    tilt = shape * np.linspace(0.5, 1.5, 600)  # not ∝ the base: no bins merge
    res = profile_linear_poisson(n, shape[None], None, [1e-3], shared_directions=[tilt])
    mu = shape + res.theta[0, 0] * tilt
    expected = poisson_chi2(n, mu) + (res.theta[0, 0] / 1e-3) ** 2
    assert res.chi2[0] == pytest.approx(expected, rel=1e-12)


def test_bins_of_one_template_merge_exactly(monkeypatch):
    # bins where μ is one shared template times (1 + c θ) (a steady state alone) enter as one
    # merged bin per group; χ² and θ̂ must equal the unmerged profile (a per-point base
    # disables merging), with and without counts in those bins
    monkeypatch.setattr(profile_module, "_LAYOUTS", {})
    n, base, s, scaled, shared, sigma = _structured_problem(30, 18)
    steady = shared[0].copy()
    only = np.arange(20, 30)  # the steady state alone here: no signal, no other background
    s[:, only] = 0.0
    shared[1:, only] = 0.0
    shared[0] = 0.05 * steady  # its normalisation: ∝ the template
    background = steady.copy()
    background[:20] += 3.0
    n[[21, 24]] = 0.0
    merged = _structured_fit(n, background, s, scaled, shared, sigma,
                             scaled_base=np.ones(n.size))
    plain = _structured_fit(n, np.broadcast_to(background, s.shape) + s, s, scaled, shared,
                            sigma)
    (layout,) = [v for v in profile_module._LAYOUTS.values() if v.groups]  # the shared base
    assert sorted(g.size for g in layout.groups) == [2, 8]
    np.testing.assert_allclose(merged.chi2, plain.chi2, rtol=0, atol=1e-9)
    np.testing.assert_allclose(merged.theta, plain.theta, rtol=0, atol=1e-7)
