"""Toy generators of the real experiments (``Experiment.toy_data`` / ``Experiment.toy``)."""

import numpy as np
import pytest

from nubound.physics.experiments import get_experiment


def _real_values(exp):
    """The real data written as a toy row (pull centres at their nominal 0)."""
    if exp.name == "coherent_csi":
        return np.concatenate([exp.observed, [exp.anticoincidence_events], np.zeros(4)])
    if exp.name == "coherent_ar":
        return np.concatenate([exp.observed, np.zeros(9)])
    if exp.name == "xenonnt_b8":
        return np.concatenate([exp.observed, np.zeros(6)])
    return exp.table[:, 1].copy()


def _signals(exp, n=5):
    sm = exp.sm_signal() if hasattr(exp, "sm_signal") else sum(exp.sm_counts().values())
    return np.linspace(0.0, 2.0, n)[:, None] * sm


@pytest.mark.parametrize("name", ["coherent_csi", "coherent_ar", "dresden_ii", "xenonnt_b8"])
def test_toy_of_the_real_data_is_the_experiment(name):
    exp = get_experiment(name)
    s = _signals(exp)
    judge = exp.toy(_real_values(exp))
    assert judge is not exp and judge.data_kind == "toy" and exp.data_kind == "observed"
    np.testing.assert_allclose(judge.chi2(s), exp.chi2(s), rtol=1e-9, atol=1e-7)


@pytest.mark.parametrize("name", ["coherent_csi", "coherent_ar", "dresden_ii", "xenonnt_b8"])
def test_toys_are_reproducible_and_judged_differently(name):
    exp = get_experiment(name)
    s = _signals(exp)[2]
    a = exp.toy_data(s, np.random.default_rng(4), 3)
    b = exp.toy_data(s, np.random.default_rng(4), 3)
    np.testing.assert_array_equal(a, b)
    chi2 = [float(exp.toy(row).chi2(s)) for row in a]
    assert len(set(chi2)) == 3 and all(np.isfinite(chi2))


def test_csi_toys_fluctuate_counts_ac_and_pull_centres():
    exp = get_experiment("coherent_csi")
    s = exp.sm_signal()
    theta = exp.profile(s).theta
    n = 4000
    toys = exp.toy_data(s, np.random.default_rng(1), n)
    nb = exp.n_bins
    mu = s * (1 + theta[0]) + sum((1 + theta[i]) * tpl for i, tpl in
                                  enumerate(exp.background_components.values(), start=1))
    total = toys[:, :nb].sum(axis=1)
    assert np.all(toys[:, :nb + 1] == np.round(toys[:, :nb + 1]))  # counts are integers
    assert abs(total.mean() - mu.sum()) < 4 * np.sqrt(mu.sum() / n)
    assert total.var() == pytest.approx(mu.sum(), rel=0.1)  # Poisson
    ac = toys[:, nb]
    expected_ac = exp.anticoincidence_events * (1 + theta[1])
    assert abs(ac.mean() - expected_ac) < 4 * np.sqrt(expected_ac / n)
    centres = toys[:, nb + 1:]
    for p in (0, 2, 3):  # signal, BRN, NIN: Gaussian constraints
        assert abs(centres[:, p].mean() - theta[p]) < 4 * exp.prior_sigma[p] / np.sqrt(n)
        assert centres[:, p].std() == pytest.approx(exp.prior_sigma[p], rel=0.06)
    assert np.all(centres[:, 1] == 0.0)  # steady state: constrained by the AC count instead


def test_ar_toys_pull_centres_move_the_fit():
    exp = get_experiment("coherent_ar")
    s = exp.sm_signal()
    values = _real_values(exp)
    shifted = values.copy()
    shifted[exp.n_bins + 3] = 1.0  # prompt BRN normalisation measured 1σ high
    base = exp.toy(values).profile(s)
    moved = exp.toy(shifted).profile(s)
    # the data constrain the prompt BRN well (θ̂ moves by 0.04 for a 1σ shift of the centre)
    assert moved.theta[3] > base.theta[3] + 0.01
    assert not np.isclose(moved.chi2, base.chi2, rtol=1e-4)


def test_dresden_toys_are_gaussian_with_released_errors():
    exp = get_experiment("dresden_ii")
    s = sum(exp.sm_counts().values())
    theta = exp.profile(s).theta
    from nubound.physics.experiments.dresden_ii.likelihood import background_rate

    mean = s / exp.exposure_days + background_rate(theta, exp.energy_keV)
    toys = exp.toy_data(s, np.random.default_rng(2), 3000)
    pulls = (toys - mean) / exp.table[:, 2]
    assert abs(pulls.mean()) < 4 / np.sqrt(pulls.size)
    assert pulls.std() == pytest.approx(1.0, abs=0.01)


def test_xenonnt_toys_fluctuate_counts_and_every_pull_centre():
    from nubound.physics.experiments.xenonnt_b8.likelihood import NUISANCES

    exp = get_experiment("xenonnt_b8")
    s = 2.0 * exp.sm_signal()  # twice the SM flux: θ̂ pulled away from 0
    theta = exp.profile(s).theta
    assert np.abs(theta).max() > 0.1
    mu = exp.model.expected(s.reshape(exp.signal_nodes, exp.n_bins), theta)
    n = 4000
    toys = exp.toy_data(s, np.random.default_rng(3), n)
    nb = exp.n_bins
    counts = toys[:, :nb]
    assert toys.shape == (n, nb + len(NUISANCES)) and np.all(counts == np.round(counts))
    total = counts.sum(axis=1)
    assert abs(total.mean() - mu.sum()) < 4 * np.sqrt(mu.sum() / n)
    assert total.var() == pytest.approx(mu.sum(), rel=0.1)  # Poisson
    busiest = int(np.argmax(mu))  # one bin: Poisson mean and variance
    assert abs(counts[:, busiest].mean() - mu[busiest]) < 4 * np.sqrt(mu[busiest] / n)
    centres = toys[:, nb:]
    for p in range(len(NUISANCES)):  # every nuisance has a unit Gaussian prior
        assert abs(centres[:, p].mean() - theta[p]) < 4 / np.sqrt(n)
        assert centres[:, p].std() == pytest.approx(1.0, rel=0.06)


def test_xenonnt_toy_profile_is_exact_with_shifted_centres():
    # the kernel's exact profile with fluctuated prior centres against a direct minimisation
    # of χ²(θ) = Poisson χ² + Σ (θ_p − c_p)² from several starts (scipy, no kernel code)
    from scipy.optimize import minimize

    from nubound.physics.statistics.poisson import poisson_chi2

    exp = get_experiment("xenonnt_b8")
    s = 1.5 * exp.sm_signal()
    row = exp.toy_data(s, np.random.default_rng(8), 1)[0]
    row[exp.n_bins:] = [0.8, -1.2, 0.5, -0.7, 1.1, -0.9]  # tly, tqy, flux, ac, er, neutron
    judge = exp.toy(row)
    model = judge.model
    nodes = s.reshape(exp.signal_nodes, exp.n_bins)
    centres = model.pull_centres

    def chi2(theta):
        mu = model.expected(nodes, theta)
        if np.any(mu <= 0):
            return 1e12
        return float(poisson_chi2(model.observed, mu)) + float(((theta - centres) ** 2).sum())

    direct = min(minimize(chi2, start, method="Nelder-Mead",
                          options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 40000,
                                   "maxfev": 40000}).fun
                 for start in (np.zeros(6), centres, -centres))
    result = judge.profile(s)
    assert float(result.chi2) == pytest.approx(direct, abs=2e-3)
    assert float(result.chi2) <= direct + 1e-6
    assert chi2(result.theta) == pytest.approx(float(result.chi2), abs=1e-6)
    # and the centres matter: the data's own centres give another χ²
    assert abs(float(exp.toy(np.concatenate([row[:exp.n_bins], np.zeros(6)])).chi2(s))
               - float(result.chi2)) > 0.1


def test_xenonnt_fc_coverage_of_the_flux_strength():
    # the Neyman construction with XENONnT toys covers: on the line Φ = μ Φ_SM (μ in 0–3), t_c
    # at the truth μ = 1 from 1000 toys; of 1000 independent toys generated there, the fraction
    # with t ≤ t_c is 0.90 within 3σ (σ = √(2 · 0.09/1000), both samples fluctuate)
    from nubound.physics.statistics.neyman import (
        ToyPart,
        critical_value,
        ratio_statistic,
        toy_chi2,
    )

    exp = get_experiment("xenonnt_b8")
    line = np.linspace(0.0, 3.0, 31)
    part = ToyPart(exp, (line[:, None] * exp.sm_signal())[None])
    truth = 10
    t_cal = ratio_statistic(toy_chi2([part], truth, 1000, [np.random.default_rng(11)]), truth)
    t_c = float(critical_value(t_cal, 0.9))
    t_new = ratio_statistic(toy_chi2([part], truth, 1000, [np.random.default_rng(12)]), truth)
    assert abs(np.mean(t_new <= t_c) - 0.9) < 3 * np.sqrt(2 * 0.09 / 1000)
    assert 1.5 < t_c < 4.0  # a sensible critical value (Wilks: 2.71)
