"""COHERENT CsI 2021 detector response: quenching, efficiencies, smearing, timing, quadrature."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import gamma

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import coherent_csi_response as resp
from nubound.physics.fluxes.pion_dar import time_bin_fractions, time_pdf_per_us


@pytest.mark.parametrize("quenching", resp.QUENCHING_CHOICES)
def test_quenched_energy_is_positive_and_monotonic_over_the_recoil_range(quenching):
    t = np.linspace(1e-6, 60e-3, 3000)  # up to beyond the Cs/I endpoints (~47 keVnr)
    e_ee = resp.electron_equivalent_energy_keV(t, quenching)
    assert np.all(e_ee > 0)
    assert np.all(np.diff(e_ee) > 0)


def test_nominal_quenching_factor_agrees_with_the_2018_release_value():
    # 2018 release (Zenodo 1228631, coherent_parameters.yaml): QF = 0.0878 ± 0.0166 (5–30 keVnr)
    t = np.linspace(5e-3, 30e-3, 26)
    qf = resp.electron_equivalent_energy_keV(t, "nominal") / (t * 1e3)
    assert abs(qf.mean() - 0.0878) < 0.0166


@pytest.mark.parametrize("model", ["model0", "model1"])
def test_systematic_quenching_pairs_straddle_the_nominal_curve(model):
    # each ±1σ pair of the file lies on opposite sides of the nominal curve, within 10 %
    t = np.array([5e-3, 20e-3])
    nominal = resp.electron_equivalent_energy_keV(t, "nominal")
    up = resp.electron_equivalent_energy_keV(t, f"{model}_up") / nominal - 1.0
    down = resp.electron_equivalent_energy_keV(t, f"{model}_down") / nominal - 1.0
    assert np.all(up * down < 0)
    assert np.all(np.abs(up) < 0.1) and np.all(np.abs(down) < 0.1)


def test_light_yield_implied_by_the_resolution_parameters():
    # docs/experiments/coherent_csi.md#response: 13.35 PE/keVee; mean of the gamma density = 1/a =
    # E_ee/0.0749
    assert resp.LIGHT_YIELD_PE_per_keVee == pytest.approx(13.35, abs=0.01)


@pytest.mark.parametrize("choice", resp.EFFICIENCY_CHOICES)
def test_energy_efficiency_within_unit_interval_and_turns_on_near_ten_pe(choice):
    x = np.linspace(0, 300, 3001)
    eff = resp.energy_efficiency(x, choice)
    assert np.all((eff >= 0) & (eff <= 1))
    assert eff[0] == 0.0
    assert np.all(np.diff(eff) >= 0)
    # plateau a + d of the file's nominal curve: 1.32045 − 0.333322
    if choice == "nominal":
        assert eff[-1] == pytest.approx(1.32045 - 0.333322, rel=1e-6)


def test_time_efficiency_shape_and_closed_form_integral():
    assert resp.time_efficiency(0.3) == 1.0
    assert resp.time_efficiency(6.0) == pytest.approx(np.exp(-0.0494 * 5.48))
    for lo, hi in [(0.0, 0.125), (0.5, 0.625), (1.0, 6.0)]:
        numeric, _ = quad(resp.time_efficiency, lo, hi, points=[0.52], limit=200)
        assert resp.integrated_time_efficiency(lo, hi) == pytest.approx(numeric, rel=1e-10)


@pytest.mark.parametrize("e_ee_keV", [0.3, 1.0, 2.5])
def test_pe_bin_probabilities_match_direct_integration_of_gamma_times_efficiency(e_ee_keV):
    k = 1.0 + 9.56 * e_ee_keV
    dist = gamma(a=k, scale=1.0 / ((0.0749 / e_ee_keV) * k))
    probs = resp.pe_bin_probabilities(e_ee_keV)[0]
    for i, (lo, hi) in enumerate(zip(resp.PE_EDGES[:-1], resp.PE_EDGES[1:], strict=True)):
        ref, _ = quad(lambda x: dist.pdf(x) * resp.energy_efficiency(x), lo, hi, points=[7.07])
        assert probs[i] == pytest.approx(ref, rel=2e-3, abs=1e-7)


def test_pe_bin_probabilities_zero_for_no_light():
    assert np.all(resp.pe_bin_probabilities(np.array([0.0, -1.0])) == 0.0)


@pytest.mark.parametrize("component", ["prompt", "delayed"])
def test_time_fractions_with_and_without_efficiency(component):
    plain = resp.neutrino_time_fractions(component, with_efficiency=False)
    np.testing.assert_allclose(plain, time_bin_fractions(resp.TIME_EDGES_us, component))
    weighted = resp.neutrino_time_fractions(component)
    edges = resp.TIME_EDGES_us
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        ref, _ = quad(
            lambda t: time_pdf_per_us(t, component) * resp.time_efficiency(t), lo, hi,
            points=[0.52] if lo < 0.52 < hi else None, limit=200,
        )
        assert weighted[i] == pytest.approx(ref, rel=1e-6, abs=1e-12)
    assert np.all(weighted <= plain * (1 + 1e-8) + 1e-15)


def test_gauss_legendre_grid_integrates_polynomials_exactly_and_keeps_breakpoints():
    t, w = resp.gauss_legendre_grid([0.0, 0.3, 1.0], panel_MeV=0.25, nodes_per_panel=4)
    assert w.sum() == pytest.approx(1.0)
    assert np.sum(w * t**5) == pytest.approx(1.0 / 6.0)
    assert np.sum(w[t < 0.3]) == pytest.approx(0.3)


def test_bad_choices_raise_with_the_allowed_values():
    with pytest.raises(PhysicsInputError, match="nominal"):
        resp.electron_equivalent_energy_keV(0.01, "lindhard")
    with pytest.raises(PhysicsInputError, match="allowed"):
        resp.energy_efficiency(10.0, "best")
