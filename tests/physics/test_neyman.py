"""Known answers of the toy Neyman construction (docs/feldman-cousins.md).

(1) Feldman & Cousins, Phys. Rev. D 57 (1998) 3873, Table IV (90 % CL, Poisson with known
background b): n = 0 for b = 0, 1, 2, 2.5, 3, 4, 5 (e.g. b = 3 → [0.00, 1.08]; b = 0 →
[0.00, 2.44]) and entries with n > 0.
(2) Gaussian measurement of a mean bounded at 0 (FC 1998 Sec. IV.B; PDG "Statistics"
§40.4.2): critical value of ½χ²₀ + ½χ²₁ at the boundary, chi2.ppf(0.8, 1) = 1.642, and of χ²₁,
chi2.ppf(0.9, 1) = 2.706, far from it.
"""

import numpy as np
import pytest
from scipy import special, stats

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments.counting import GaussianMeasurement, PoissonCounting
from nubound.physics.statistics.neyman import (
    ToyPart,
    critical_value,
    critical_value_band,
    interpolate_critical,
    ratio_statistic,
    toy_test_statistics,
)

LINE = np.round(np.arange(0.0, 8.0 + 1e-9, 0.01), 10)  # signal grid, step 0.01, s ≥ 0


def _part(experiment):
    return ToyPart(experiment, LINE[None, :, None])


def _exact_ranked_above(background: float, signal: float, n_obs: int = 0) -> float:
    """P(outcomes ranked strictly above ``n_obs``) at ``signal``, without toys: scipy's Poisson
    pmf and the ranking R = P(n|s)/P(n|ŝ) of FC 1998 Eq. (4.1). ``n_obs`` is in the 90 %
    acceptance region iff this is < 0.9."""
    return float(_exact_ranked_above_grid(background, np.array([signal]), n_obs)[0])


def _exact_ranked_above_grid(background: float, signals: np.ndarray, n_obs: int) -> np.ndarray:
    n = np.arange(0, 60)[:, None]
    mu = signals[None, :] + background
    best = np.maximum(n - background, 0.0) + background
    log_p = special.xlogy(n, mu) - mu - special.gammaln(n + 1)  # Poisson log pmf
    log_r = log_p - (special.xlogy(n, best) - best - special.gammaln(n + 1))
    return (np.exp(log_p) * (log_r > log_r[n_obs] + 1e-12)).sum(axis=0)


def _exact_interval(background: float, n_obs: int = 0, step: float = 0.001,
                    top: float = 12.0) -> tuple[float, float]:
    """The exact 90 % interval of ``n_obs`` at fixed b: the smallest and the LARGEST signal
    whose acceptance region contains ``n_obs`` (FC 1998 Sec. IV.B: the interval is the set of
    all such s; here it has no holes, n₁(s) is non-decreasing)."""
    grid = np.arange(0.0, top, step)
    accepted = grid[_exact_ranked_above_grid(background, grid, n_obs) < 0.9]
    return float(accepted.min()), float(accepted.max())


def _exact_table_upper(background: float, n_obs: int = 0, span: float = 1.5,
                       b_step: float = 0.01) -> tuple[float, float]:
    """(upper end, background b* ≥ b where it is reached) of the largest fixed-background upper
    end over backgrounds b' in [b, b + span]: the upper limit of Table IV made non-increasing
    in b. A scan in steps of ``b_step`` (signal step 0.002), refined in steps of 0.005 below
    the best b' found (each saw tooth peaks just after its jump)."""
    top = 3.0 + 2.0 * n_obs

    def upper(b: float, step: float) -> float:
        return _exact_interval(b, n_obs, step=step, top=top)[1]

    coarse = [(upper(b, 0.002), b) for b in
              np.round(np.arange(background, background + span + 1e-9, b_step), 6)]
    b_coarse = max(coarse)[1]
    fine = [(upper(b, 0.001), b) for b in
            np.round(np.arange(max(b_coarse - b_step, background), b_coarse + 1e-9, 0.005), 6)]
    return max(fine)


def _check_toys_against_exact(background: float, candidates: np.ndarray, n_toys: int,
                              seed: int, line: np.ndarray = LINE) -> float:
    """Toy decision "n = 0 accepted at s" for each candidate against the exact one; they must
    agree wherever the exact probability is more than 3 Monte Carlo σ from 0.9. Returns the
    toys' upper end of the interval (the largest accepted candidate)."""
    data = PoissonCounting(background, observed=0)
    chi2 = data.chi2(line[:, None])
    sigma = np.sqrt(0.09 / n_toys)
    accepted = []
    for k, s in enumerate(candidates):
        index = int(np.flatnonzero(np.isclose(line, s))[0])
        t = toy_test_statistics([ToyPart(data, line[None, :, None])], index, n_toys,
                                [np.random.default_rng([seed, k])])
        toy_accepts = chi2[index] - chi2.min() <= critical_value(t, 0.9)
        q = _exact_ranked_above(background, s)
        if abs(q - 0.9) > 3 * sigma:
            assert toy_accepts == (q < 0.9), (s, q)
        if toy_accepts:
            accepted.append(s)
    return max(accepted)


def _assert_edge_within_mc_precision(background: float, found: float, exact: float,
                                     n_toys: int) -> None:
    """The toys' edge lies at the exact edge to the candidate step, or where the exact
    probability is within 3 MC σ of 0.9 (it moves by only ≈ 0.006 per 0.1 in s near b = 0's
    edge, so there the edge itself is known to ≈ ±0.1 from 4000 toys)."""
    sigma = np.sqrt(0.09 / n_toys)
    assert abs(found - exact) <= 0.04 or abs(_exact_ranked_above(background, found)
                                               - 0.9) <= 3 * sigma


# Feldman & Cousins 1998, Table IV (90 % CL), n = 0: upper end of [0, μ₂]
TABLE_IV_N0 = {0.0: 2.44, 1.0: 1.61, 2.0: 1.26, 2.5: 1.18, 3.0: 1.08, 4.0: 1.01, 5.0: 0.98}
# ... and entries with n > 0: (b, n) → [μ₁, μ₂]
TABLE_IV_N = {(0.0, 1): (0.11, 4.36), (0.0, 2): (0.53, 5.91), (0.0, 3): (1.10, 7.42),
              (0.0, 5): (1.84, 9.99), (3.0, 1): (0.00, 1.88), (3.0, 2): (0.00, 3.04),
              (3.0, 5): (0.00, 6.99)}
# Poisson line for the Table IV toys: step 0.005, so that ŝ = n − b* lies on it for the b* used,
# up to 20 so that no toy's ŝ is cut off
POISSON_LINE = np.round(np.arange(0.0, 20.0 + 1e-9, 0.005), 10)


@pytest.mark.parametrize(("background", "printed"), sorted(TABLE_IV_N0.items()))
def test_feldman_cousins_table_iv_n0(background, printed):
    # At fixed b the plain belt (outcomes added in order of R until ≥ 90 %) gives for n = 0 an
    # upper end that is a saw-tooth in b: 1.08 at b = 2, 0.953 at b = 3, 0.852 at b = 4,
    # 0.770 at b = 5 (at b = 3 the outcome n = 7 outranks n = 0 from s = 0.953 on, and n = 0
    # never re-enters: the largest accepted s is 0.953 too). Table IV prints, to ±0.005, the
    # largest of those upper ends over backgrounds b' ≥ b (the tooth's top, at b* = 2.33,
    # 3.455, 4.365, 5.215): an upper limit that does not rise as the background falls. The
    # toys reproduce the plain belt at b and at b*, so they reproduce the printed number.
    plain_upper = _exact_interval(background)[1]
    table_upper, b_star = _exact_table_upper(background)
    assert table_upper == pytest.approx(printed, abs=0.006)
    found = []
    for k, b in enumerate(sorted({background, float(b_star)})):
        exact = _exact_interval(b)[1]
        candidates = np.round(np.arange(round(exact, 2) - 0.12, exact + 0.13, 0.04), 10)
        candidates = candidates[candidates >= 0]
        edge = _check_toys_against_exact(b, candidates, 4000, seed=20 + k, line=POISSON_LINE)
        _assert_edge_within_mc_precision(b, edge, exact, 4000)
        found.append(edge)
    best = int(np.argmax(found))
    b_best = sorted({background, float(b_star)})[best]
    assert abs(found[best] - printed) <= 0.045 or abs(
        _exact_ranked_above(b_best, found[best]) - 0.9) <= 3 * np.sqrt(0.09 / 4000)
    if printed - plain_upper > 0.1:  # b = 2, 3, 4, 5: the fixed-b toys alone fall short
        assert found[0] < printed - 0.08


@pytest.mark.parametrize(("background", "n_obs"), sorted(TABLE_IV_N))
def test_feldman_cousins_table_iv_n_above_zero(background, n_obs):
    # For n > 0 the fixed-b upper ends do not rise with b' > b (checked over b' ≤ b + 1.5),
    # so the plain belt's interval is the printed one.
    lower, upper = TABLE_IV_N[(background, n_obs)]
    exact = _exact_interval(background, n_obs)
    assert exact == pytest.approx((lower, upper), abs=0.006)
    assert _exact_table_upper(background, n_obs, b_step=0.05)[0] == pytest.approx(
        exact[1], abs=0.002)
    # toys: n_obs accepted just inside both ends, rejected just outside
    data = PoissonCounting(background, observed=n_obs)
    chi2 = data.chi2(POISSON_LINE[:, None])
    for k, (s, inside) in enumerate([(upper - 0.08, True), (upper + 0.08, False)]
                                    + ([(lower + 0.08, True), (lower - 0.08, False)]
                                       if lower > 0.08 else [])):
        s = round(s, 2)
        index = int(np.flatnonzero(np.isclose(POISSON_LINE, s))[0])
        t = toy_test_statistics([ToyPart(data, POISSON_LINE[None, :, None])], index, 4000,
                                [np.random.default_rng([30, n_obs, k])])
        q = _exact_ranked_above(background, s, n_obs)
        assert (q < 0.9) == inside
        if abs(q - 0.9) > 3 * np.sqrt(0.09 / 4000):
            assert (chi2[index] - chi2.min() <= critical_value(t, 0.9)) == inside, (s, q)


def test_poisson_n0_lower_end_is_zero():
    # n = 0 is accepted at s = 0 for any background: the interval starts at 0 (Table IV)
    data = PoissonCounting(3.0, observed=0)
    t = toy_test_statistics([_part(data)], 0, 2000, [np.random.default_rng(1)])
    t_obs = ratio_statistic(data.chi2(LINE[:, None]), 0)
    assert t_obs == 0.0 and critical_value(t, 0.9) >= 0.0


@pytest.mark.parametrize(("mean", "expected"), [
    (0.0, stats.chi2.ppf(0.8, 1)),   # boundary: ½χ²₀ + ½χ²₁
    (4.0, stats.chi2.ppf(0.9, 1)),   # far from it: Wilks
])
def test_gaussian_bounded_critical_value(mean, expected):
    exp = GaussianMeasurement(observed=0.0)
    index = int(np.flatnonzero(np.isclose(LINE, mean))[0])
    t = toy_test_statistics([_part(exp)], index, 20000, [np.random.default_rng(7)])
    lo, hi = critical_value_band(t, 0.9, n_sigma=3.0)
    assert lo <= expected <= hi
    assert hi - lo < 0.25  # the band is informative: the two cases differ by 1.06


def test_gaussian_critical_value_grows_from_boundary():
    exp = GaussianMeasurement(observed=0.0)
    values = []
    for mean in (0.0, 0.5, 1.0, 3.0):
        index = int(np.flatnonzero(np.isclose(LINE, mean))[0])
        t = toy_test_statistics([_part(exp)], index, 8000, [np.random.default_rng(3)])
        values.append(float(critical_value(t, 0.9)))
    assert values[0] < values[1] < values[2] < values[3] + 0.1
    # between the boundary's mixture and Wilks
    assert 1.64 < values[1] < 2.71


def test_critical_value_is_the_order_statistic():
    t = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert critical_value(t, 0.6) == 3.0  # ⌈0.6·5⌉ = 3rd smallest
    assert critical_value(t, 0.61) == 4.0
    assert critical_value(np.array([1.0, np.nan]), 0.9) != 1.0  # a failed toy counts as large
    with pytest.raises(PhysicsInputError, match="cl"):
        critical_value(t, 1.0)


def test_same_seed_same_toys_and_independent_of_other_points():
    exp = PoissonCounting(3.0, observed=2)
    a = toy_test_statistics([_part(exp)], 100, 300, [np.random.default_rng([5, 100])])
    b = toy_test_statistics([_part(exp)], 100, 300, [np.random.default_rng([5, 100])])
    c = toy_test_statistics([_part(exp)], 100, 300, [np.random.default_rng([5, 101])])
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_interpolate_critical_log_axis_and_empty():
    out = interpolate_critical([1e-3, 1e-2], [1e-4, 1e-2], [2.0, 4.0], log=True)
    assert out == pytest.approx([3.0, 4.0])
    assert np.isnan(interpolate_critical([1.0], [1.0], [np.nan])).all()
