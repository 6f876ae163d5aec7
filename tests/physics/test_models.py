"""BSM models: SM limit, interference signs, contact and light-mediator limits, validation."""

from __future__ import annotations

import json
import math

import bsm_reference as ref
import numpy as np
import pytest

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import get_experiment
from nubound.physics.experiments.base import Channel
from nubound.physics.models import MODELS, get_model, list_models
from nubound.physics.models.point import evaluate_point
from nubound.physics.rates import sm_rates

SQRT2_GF = math.sqrt(2.0) * units.fermi_constant_per_MeV2


@pytest.fixture(scope="module")
def synthetic():
    return ref.SyntheticExperiment()


class NucleusOnly(ref.SyntheticExperiment):
    """The synthetic experiment's CsI-like nuclear channel alone, one bin per recoil node."""

    name = "nucleus_only"

    def __init__(self) -> None:
        super().__init__()
        self.layout = self.layout[:1]
        self.spectra = {self.layout[0][0]: self.layout[0][3]}

    @property
    def n_bins(self) -> int:
        return 240

    def _build(self, row, quenching):
        ch = super()._build(row, quenching)
        w = np.gradient(ch.recoil_energy_MeV)
        return Channel(ch.name, ch.kind, ch.particle, ch.flavours, ch.recoil_energy_MeV,
                       ch.flux_moments, np.diag(w), ch.meta)


@pytest.fixture(scope="module")
def nucleus_only():
    return NucleusOnly()


def sm(exp, quenching=None):
    return exp.expected_counts(sm_rates(exp.channels(quenching)), quenching)


# ---- SM limit ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MODELS))
def test_sm_limit_exact(synthetic, name):
    model = MODELS[name]
    zero = {p: 0.0 for p in model.parameter_names}
    expected = sm(synthetic, "high")
    np.testing.assert_array_equal(model.signal_counts(synthetic, "high", zero), expected)
    np.testing.assert_array_equal(model.signal_counts(synthetic, "high", {}), expected)
    if model.mass_parameter:  # coupling 0 at any mass: still exactly the SM
        out = model.signal_counts(synthetic, None, {"coupling": 0.0, "mass_MeV": [1.0, 50.0]})
        np.testing.assert_array_equal(out, np.stack([sm(synthetic)] * 2))


@pytest.mark.parametrize("exp_name", ["dresden_ii", "coherent_csi", "coherent_ar"])
def test_sm_limit_exact_real_experiments(exp_name):
    exp = get_experiment(exp_name)
    for q in exp.quenching_choices[:2]:
        for model in MODELS.values():
            np.testing.assert_array_equal(model.signal_counts(exp, q, {}), sm(exp, q))


# ---- block evaluation ------------------------------------------------------------------
def test_block_broadcasting_equals_pointwise(synthetic):
    model = get_model("vector_b_minus_l")
    masses = np.array([30.0, 1.0, 30.0, 5.0])[:, None]  # unsorted, repeated
    couplings = np.array([0.0, 1e-5, 3e-5])[None, :]
    block = model.signal_counts(synthetic, None, {"mass_MeV": masses, "coupling": couplings})
    assert block.shape == (4, 3, synthetic.n_bins)
    for i, m in enumerate(masses[:, 0]):
        for j, g in enumerate(couplings[0]):
            point = model.signal_counts(synthetic, None, {"mass_MeV": m, "coupling": g})
            np.testing.assert_allclose(block[i, j], point, rtol=1e-13)
    # transposed layout (coupling first) gives the same numbers
    swapped = model.signal_counts(synthetic, None, {"mass_MeV": masses.T, "coupling": couplings.T})
    np.testing.assert_allclose(swapped, block.transpose(1, 0, 2), rtol=1e-13)


# ---- interference ----------------------------------------------------------------------
def _cevns_total(exp, name, g, mass, **opts):
    return get_model(name, **opts).signal_counts(
        exp, None, {"coupling": g, "mass_MeV": mass}, kinds=("nucleus",)).sum(axis=-1)


def test_universal_destructive_with_cancellation_band(nucleus_only):
    # heavy Z′ (q² ≪ M²): Q_V + g² 3A/(√2 G_F M²); Q_V < 0, so g² > 0 first lowers the rate,
    # kills it where the shift equals −Q_V and restores the SM where it equals −2 Q_V
    cs = nucleus_only.channels()[0].particle
    qv = 0.5 * cs.Z * (1 - 4 * units.sin2_theta_w) - 0.5 * cs.N
    mass = 1e4
    g_zero = math.sqrt(-qv * SQRT2_GF * mass**2 / (3.0 * cs.A))
    sm_total = sm(nucleus_only).sum()
    assert _cevns_total(nucleus_only, "vector_universal", 0.5 * g_zero, mass) < sm_total
    assert _cevns_total(nucleus_only, "vector_universal", g_zero, mass) < 1e-6 * sm_total
    back = _cevns_total(nucleus_only, "vector_universal", math.sqrt(2) * g_zero, mass)
    assert back == pytest.approx(sm_total, rel=1e-3)  # the band where the SM rate returns
    assert _cevns_total(nucleus_only, "vector_universal", 2 * g_zero, mass) > sm_total
    # the flipped sign interferes constructively
    assert _cevns_total(nucleus_only, "vector_universal", 0.5 * g_zero, mass,
                        interference="flipped") > sm_total


def test_b_minus_l_constructive(nucleus_only):
    sm_total = sm(nucleus_only).sum()
    g = np.geomspace(1e-7, 1e-3, 30)
    totals = _cevns_total(nucleus_only, "vector_b_minus_l", g, 10.0)
    assert np.all(totals >= sm_total) and np.all(np.diff(totals) > 0)
    flipped = _cevns_total(nucleus_only, "vector_b_minus_l", g, 10.0, interference="flipped")
    assert flipped.min() < 0.5 * sm_total  # flipped: destructive


def test_option_via_params_equals_option_via_get_model(synthetic):
    p = {"coupling": 2e-5, "mass_MeV": 3.0}
    a = get_model("vector_universal").signal_counts(
        synthetic, None, {**p, "interference": "flipped"})
    b = get_model("vector_universal", interference="flipped").signal_counts(synthetic, None, p)
    np.testing.assert_array_equal(a, b)


# ---- limits ----------------------------------------------------------------------------
@pytest.mark.parametrize("name,eps_scale", [("vector_universal", 1.0),
                                            ("vector_b_minus_l", -1.0 / 3.0)])
def test_contact_limit_equals_nsi(synthetic, name, eps_scale):
    # M² ≫ q²: ε^q_αα = g² Q′_ν Q′_q / (√2 G_F M²) for u and d, α = e, μ
    # (docs/physics.md#contact-limit)
    g, mass = 0.3, 3e5
    eps = eps_scale * g**2 / (SQRT2_GF * mass**2)
    nsi = {f"eps_{q}_{a}": eps for q in "ud" for a in ("ee", "mumu")}
    vec = get_model(name).signal_counts(
        synthetic, None, {"coupling": g, "mass_MeV": mass}, kinds=("nucleus",))
    contact = get_model("nsi").signal_counts(synthetic, None, nsi, kinds=("nucleus",))
    assert abs(contact.sum() / sm(synthetic).sum() - 1) > 0.05  # a visible effect
    np.testing.assert_allclose(vec, contact, rtol=1e-6)


@pytest.mark.parametrize("name", ["scalar_universal", "vector_universal"])
def test_light_mediator_scales_as_inverse_q4(nucleus_only, name):
    # the coupling⁴ term: ratio of massless to massive = (1 + M²/q²)², q² = 2 M_N T
    ch = nucleus_only.channels()[0]
    q2 = 2 * ch.particle.mass_MeV * ch.recoil_energy_MeV
    base = sm(nucleus_only)

    def quartic(mass):
        g = 1e-5
        if name.startswith("scalar"):
            return get_model(name).signal_counts(
                nucleus_only, None, {"coupling": g, "mass_MeV": mass}) - base
        both = sum(get_model(name, interference=s).signal_counts(
            nucleus_only, None, {"coupling": g, "mass_MeV": mass}) for s in ("standard", "flipped"))
        return 0.5 * both - base

    m_heavy = 20.0
    light, heavy = quartic(0.0), quartic(m_heavy)
    ok = heavy > 1e-12 * heavy.max()
    np.testing.assert_allclose(light[ok] / heavy[ok], ((1 + m_heavy**2 / q2) ** 2)[ok], rtol=1e-9)


def test_nsi_flavour_structure():
    dresden = get_experiment("dresden_ii")  # ν̄e only
    base = sm(dresden)
    model = get_model("nsi")
    np.testing.assert_array_equal(model.signal_counts(dresden, None, {"eps_u_mumu": 0.3}), base)
    more = model.signal_counts(dresden, None, {"eps_u_ee": -0.3})  # same sign as Q_V < 0
    assert np.all(more >= base) and more.sum() > 1.5 * base.sum()
    # Q → −Q_V for ν_e: δ = Z(2ε^u) + N ε^u = −2 Q_V restores the SM counts (degeneracy)
    ge = dresden.channels()[0]
    nuc = ge.particle
    qv = nuc.Z * (0.5 - 2 * ge.meta["sin2_theta_w"]) - 0.5 * nuc.N
    eps = -2 * qv / (2 * nuc.Z + nuc.N)
    np.testing.assert_allclose(model.signal_counts(dresden, None, {"eps_u_ee": eps}), base,
                               rtol=1e-12)


def test_magnetic_moment_flavours_and_scaling():
    dresden = get_experiment("dresden_ii")
    model = get_model("magnetic_moment")
    base = sm(dresden)
    np.testing.assert_array_equal(model.signal_counts(dresden, None, {"mu_mu": 1e-9}), base)
    one = model.signal_counts(dresden, None, {"mu_e": 1e-10}) - base
    three = model.signal_counts(dresden, None, {"mu_e": 3e-10}) - base
    np.testing.assert_allclose(three, 9 * one, rtol=1e-10)
    assert np.all(one > 0)


# ---- validation ------------------------------------------------------------------------
def test_unknown_model_lists_names():
    with pytest.raises(PhysicsInputError, match="vector_b_minus_l"):
        get_model("vector_bl")


@pytest.mark.parametrize("params,match", [
    ({"coupling": 1e-5, "mass": 3.0}, "unknown parameter 'mass'.*mass_MeV"),
    ({"coupling": -1e-5}, "'coupling'.*must lie in"),
    ({"mass_MeV": -1.0}, "'mass_MeV'.*must lie in"),
    ({"coupling": float("nan")}, "'coupling' must be finite"),
    ({"coupling": "big"}, "'coupling' must be a number"),
    ({"interference": "destructive"}, "'interference' must be one of standard, flipped"),
    ({"coupling": [1, 2, 3], "mass_MeV": [1, 2]}, "do not broadcast"),
])
def test_bad_parameters_rejected(synthetic, params, match):
    with pytest.raises(PhysicsInputError, match=match):
        get_model("vector_universal").signal_counts(synthetic, None, params)


def test_bad_option_and_quenching(synthetic):
    with pytest.raises(PhysicsInputError, match="unknown option 'interference'"):
        get_model("nsi", interference="flipped")
    with pytest.raises(PhysicsInputError, match="unknown quenching"):
        get_model("nsi").signal_counts(synthetic, "medium", {})
    with pytest.raises(PhysicsInputError, match="unknown parameter 'eps_u_tautau'"):
        get_model("nsi").validate({"eps_u_tautau": 0.1})


# ---- point evaluation and listing ------------------------------------------------------
def test_evaluate_point(synthetic):
    out = evaluate_point(synthetic, "scalar_universal", {"coupling": 1e-5, "mass_MeV": 4.0})
    model = get_model("scalar_universal")
    counts = model.signal_counts(synthetic, None, {"coupling": 1e-5, "mass_MeV": 4.0})
    assert out["signal_events"] == pytest.approx(counts.sum(), rel=1e-12)
    assert out["cevns_events"] + out["electron_events"] == pytest.approx(out["signal_events"],
                                                                         rel=1e-12)
    assert out["cevns_events"] > 0 and out["electron_events"] > 0
    assert out["chi2"] == pytest.approx(float(synthetic.chi2(counts)), rel=1e-12)
    json.dumps(out)
    with pytest.raises(PhysicsInputError, match="one point"):
        evaluate_point(synthetic, "nsi", {"eps_u_ee": [0.1, 0.2]})


def test_list_models_json():
    listing = list_models()
    json.dumps(listing, allow_nan=False)
    names = [m["name"] for m in listing]
    for required in ("nsi", "magnetic_moment", "scalar_universal", "scalar_leptonic",
                     "vector_universal", "vector_b_minus_l", "vector_leptonic"):
        assert required in names
    vec = next(m for m in listing if m["name"] == "vector_universal")
    assert [p["name"] for p in vec["parameters"]] == ["coupling", "mass_MeV"]
    assert vec["options"][0]["choices"] == ["standard", "flipped"]
