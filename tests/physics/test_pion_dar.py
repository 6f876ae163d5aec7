"""SNS π-DAR flux: line energy, Michel spectra, fluence, moments and timing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from nubound.physics.errors import PhysicsInputError
from nubound.physics.fluxes import pion_dar as pd


def test_prompt_line_energy_is_two_body_decay_value():
    # docs/physics.md#pion-decay-at-rest: 29.79 MeV
    assert pd.PROMPT_NEUTRINO_ENERGY_MeV == pytest.approx(29.79, abs=0.005)


@pytest.mark.parametrize("pdf", [pd.michel_nue_pdf, pd.michel_numubar_pdf])
def test_michel_spectra_integrate_to_one_and_end_at_half_muon_mass(pdf):
    total, _ = quad(pdf, 0.0, pd.MICHEL_ENDPOINT_MeV)
    assert total == pytest.approx(1.0, rel=1e-10)
    assert pdf(pd.MICHEL_ENDPOINT_MeV + 1e-6) == 0.0
    assert np.all(pdf(np.linspace(0, 60, 200)) >= 0.0)


def test_michel_mean_energies_match_analytic_values():
    # <E> = m_μ ∫ x·f: νe 3/10 m_μ·(…) — analytic: νe 0.3 m_μ, ν̄μ 0.35 m_μ
    m = pd.MUON_MASS_MeV
    mean_e = quad(lambda e: e * pd.michel_nue_pdf(e), 0, m / 2)[0]
    mean_mubar = quad(lambda e: e * pd.michel_numubar_pdf(e), 0, m / 2)[0]
    assert mean_e == pytest.approx(0.3 * m, rel=1e-9)
    assert mean_mubar == pytest.approx(0.35 * m, rel=1e-9)


def test_fluence_per_flavour_csi_2021():
    # 0.0848 × 3.198e23 / (4π (1930 cm)²)
    expected = 0.0848 * 3.198e23 / (4 * np.pi * 1930.0**2)
    assert pd.COHERENT_CSI_2021.fluence_per_flavour_cm2 == pytest.approx(expected, rel=1e-12)
    assert 5.7e14 < expected < 5.9e14


def test_bad_beam_is_rejected():
    with pytest.raises(PhysicsInputError, match="baseline_m"):
        pd.SNSBeam(0.09, 1e23, -1.0)


@settings(max_examples=30, deadline=None)
@given(emin=st.floats(0.0, 60.0), flavour=st.sampled_from(["nue", "numubar"]))
def test_closed_form_moments_equal_quadrature(emin, flavour):
    beam = pd.COHERENT_AR_2020
    m = pd.sns_flux_moments(beam, flavour, np.array([emin]))[:, 0]
    for k in range(3):
        ref = quad(
            lambda e, k=k: pd.sns_spectrum_per_MeV(beam, flavour, e) * e**-k,
            max(emin, 1e-12), pd.MICHEL_ENDPOINT_MeV,
        )[0]
        assert m[k] == pytest.approx(ref, rel=1e-7, abs=1e-12 * beam.fluence_per_flavour_cm2)


def test_prompt_moments_are_a_step_at_the_line():
    beam = pd.COHERENT_CSI_2021
    m = pd.sns_flux_moments(beam, "numu", np.array([10.0, 29.0, 31.0]))
    e0 = pd.PROMPT_NEUTRINO_ENERGY_MeV
    assert m[0, 0] == m[0, 1] == pytest.approx(beam.fluence_per_flavour_cm2)
    assert m[2, 0] == pytest.approx(beam.fluence_per_flavour_cm2 / e0**2)
    assert np.all(m[:, 2] == 0.0)


@pytest.mark.parametrize("component", ["prompt", "delayed"])
def test_time_pdf_normalised_and_bins_consistent(component):
    total = quad(lambda t: pd.time_pdf_per_us(t, component), -3, 60, limit=400)[0]
    assert total == pytest.approx(1.0, abs=1e-6)
    edges = np.linspace(-1, 6, 15)
    frac = pd.time_bin_fractions(edges, component)
    by_quad = [quad(lambda t: pd.time_pdf_per_us(t, component), a, b)[0]
               for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_allclose(frac, by_quad, rtol=1e-6, atol=1e-10)


def test_delayed_mean_time_adds_both_lifetimes():
    # mean of Gaussian ⊗ Exp(τπ) ⊗ Exp(τμ) = μ + τπ + τμ (in µs)
    mean = quad(lambda t: t * pd.time_pdf_per_us(t, "delayed"), -3, 80, limit=400)[0]
    assert mean == pytest.approx(0.440 + 0.026033 + 2.1969811, rel=1e-5)
    mean_p = quad(lambda t: t * pd.time_pdf_per_us(t, "prompt"), -3, 20, limit=400)[0]
    assert mean_p == pytest.approx(0.440 + 0.026033, rel=1e-5)


def test_unknown_flavour_and_component_raise():
    with pytest.raises(PhysicsInputError, match="allowed"):
        pd.sns_flux_moments(pd.COHERENT_AR_2020, "nutau", np.array([1.0]))
    with pytest.raises(PhysicsInputError, match="prompt, delayed"):
        pd.time_pdf_per_us(1.0, "late")
