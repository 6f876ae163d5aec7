"""Asimov data (docs/statistics.md#asimov): n_i = μ_i of the SM at nominal nuisances, per
experiment."""

import numpy as np
import pytest

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import coherent_ar_likelihood as lik
from nubound.physics.experiments import coherent_ar_release as rel
from nubound.physics.experiments import get_experiment
from nubound.physics.experiments.base import Experiment
from nubound.physics.experiments.coherent_ar import CoherentAr
from nubound.physics.experiments.dresden_ii import DresdenII
from nubound.physics.statistics.profile import ProfileResult

EXPERIMENTS = ("dresden_ii", "coherent_csi", "coherent_ar")


def _sm(experiment, quenching):
    if experiment.name == "dresden_ii":
        counts = experiment.sm_counts(quenching)
        return counts["Ge"] + counts["electron"]
    return experiment.sm_signal(quenching)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sm_signal_fits_its_asimov_data_exactly_and_others_worse(name):
    exp = get_experiment(name)
    for q in exp.quenching_choices:
        sm = _sm(exp, q)
        strengths = np.array([1.0, 1.01, 1.1, 1.5, 0.0, 0.99, 0.9])
        chi2 = exp.asimov(q).chi2(strengths[:, None] * sm)
        assert chi2[0] == pytest.approx(0.0, abs=1e-6)
        assert np.all(np.diff(chi2[:4]) > 0) and chi2[4] > chi2[3] > 0
        # a smooth minimum at the truth: χ² ∝ (μ − 1)² near it (Asimov curvature); the
        # symmetric sums cancel the cubic term, so the ratio is 100 up to O(ε²)
        ratio = (chi2[2] + chi2[6]) / (chi2[1] + chi2[5])
        assert ratio == pytest.approx(100.0, rel=0.05)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_asimov_experiments_are_cached_and_share_the_parents_channels(name):
    exp = get_experiment(name)
    q, other = exp.quenching_choices[0], exp.quenching_choices[1]
    asimov = exp.asimov(q)
    assert exp.asimov(q) is asimov and exp.asimov(None) is exp.asimov(exp.default_quenching)
    assert asimov.asimov(q) is asimov and asimov.asimov(other) is exp.asimov(other)
    assert asimov.data_kind == "asimov" and exp.data_kind == "observed"
    assert asimov.channels(q) is exp.channels(q)
    assert asimov.channels(other) is exp.channels(other)  # one cache for both
    for a, b in zip(asimov.channels(q), exp.channels(q), strict=True):
        assert a.response is b.response and a.flux_moments is b.flux_moments
    assert not np.array_equal(asimov.observed, exp.observed)
    assert type(exp).provides_asimov()
    with pytest.raises(PhysicsInputError, match="unknown quenching 'nope'"):
        exp.asimov("nope")


def test_coherent_ar_asimov_is_sm_plus_the_release_background_predictions():
    exp = get_experiment("coherent_ar")
    fresh = exp.observed.copy()
    asimov = exp.asimov("nominal")
    # release predictions (arXiv:2006.12659): 497 prompt BRN, 33 delayed BRN, 3152 steady state
    background = (rel.PROMPT_BRN_PREDICTION[0] + rel.DELAYED_BRN_PREDICTION[0] + 3152.0)
    total = asimov.observed.sum() - exp.sm_signal("nominal").sum()
    assert total == pytest.approx(background, rel=1e-6)
    assert np.array_equal(exp.observed, fresh)  # the real data are untouched
    np.testing.assert_allclose(asimov.observed, exp.sm_signal() + lik.background_total(),
                               rtol=1e-12)


def test_coherent_ar_asimov_signal_strength_matches_the_published_precision():
    """Asimov 1σ interval on the CEvNS strength vs the published fit 159 ± 43 events
    (arXiv:2003.10630) relative to the 128-event prediction: ±0.34 (the Asimov width is not
    the observed one, hence 25 %)."""
    summary = get_experiment("coherent_ar").asimov().summary()
    assert summary["data"] == "asimov" and summary["chi2_sm"] == pytest.approx(0, abs=1e-6)
    assert summary["signal_strength_best_fit"] == pytest.approx(1.0, abs=0.01)
    lo, hi = summary["signal_strength_1sigma"]
    assert (hi - lo) / 2 == pytest.approx(43.0 / 128.0, rel=0.25)


def test_dresden_asimov_keeps_the_errors_and_the_data_total():
    exp = get_experiment("dresden_ii")
    for q in exp.quenching_choices:
        asimov = exp.asimov(q)
        np.testing.assert_array_equal(asimov.table[:, [0, 2, 3, 4]], exp.table[:, [0, 2, 3, 4]])
        # SM + fitted background reproduces the released Rx-ON total (sum of the column)
        assert asimov.table[:, 1].sum() == pytest.approx(exp.table[:, 1].sum(), rel=0.01)
        assert asimov.asimov_nuisances["a_M"] == 1.0
        summary_fit = asimov.profile(_sm(exp, q))
        assert summary_fit.chi2 == pytest.approx(0.0, abs=1e-6)
        assert summary_fit.theta[-1] == pytest.approx(1.0, abs=1e-4)
    summary = exp.asimov().summary()
    assert summary["data"] == "asimov" and exp.summary()["data"] == "observed"
    assert summary["signal_strength_best_fit"] == pytest.approx(1.0, abs=0.02)


class _NoAsimov(Experiment):
    name = "toy"
    quenching_choices = ("a",)
    default_quenching = "a"
    n_bins = 1
    observed = np.ones(1)

    def channels(self, quenching=None):
        return ()

    def profile(self, signal):
        shape = np.shape(signal)[:-1]
        return ProfileResult(np.zeros(shape), np.zeros(shape + (0,)), np.ones(shape, bool))


def test_an_experiment_without_asimov_data_says_so():
    assert not _NoAsimov.provides_asimov()
    assert DresdenII.provides_asimov() and CoherentAr.provides_asimov()
    with pytest.raises(PhysicsInputError, match="toy: no Asimov data set"):
        _NoAsimov().asimov()
