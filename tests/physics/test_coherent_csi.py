"""COHERENT CsI 2021 experiment: channels, response, SM prediction and fit vs arXiv:2110.07730."""

import numpy as np
import pytest
from scipy.stats import gamma

from nubound.physics import units
from nubound.physics.atomic_binding import effective_electron_count
from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import coherent_csi_response as resp
from nubound.physics.experiments.coherent_csi import CoherentCsI
from nubound.physics.fluxes.pion_dar import SNSBeam, time_pdf_per_us
from nubound.physics.rates import cevns_sm_rate, sm_rates


@pytest.fixture(scope="module")
def csi():
    return CoherentCsI()


@pytest.fixture(scope="module")
def summary(csi):
    return csi.summary()


def test_channels_cover_both_nuclei_components_and_electrons(csi):
    names = {ch.name for ch in csi.channels()}
    assert names == {
        f"{kind}_{el}_{comp}"
        for kind in ("cevns", "electron") for el in ("Cs", "I") for comp in ("prompt", "delayed")
    }
    assert csi.channels() is csi.channels("nominal")  # cached
    for ch in csi.channels():
        assert ch.response.shape == (ch.recoil_energy_MeV.size, 99)
        assert np.all(ch.response >= 0)


def test_number_of_targets_from_the_molar_mass_of_csi(csi):
    # 14.6 kg / (132.905 + 126.904) g/mol × N_A
    assert csi.n_molecules == pytest.approx(14600 / 259.81 * 6.02214076e23, rel=1e-4)


def test_response_rows_are_energy_efficiency_times_time_efficiency(csi):
    """Row sums / (targets × weight) = ∫ gamma ε_E dPE (PE < 60) × ∫ p(t) ε_t dt (t < 6 µs)."""
    ch = next(c for c in csi.channels() if c.name == "cevns_Cs_delayed")
    t, w = csi.nuclear_recoil_grid("Cs133")
    np.testing.assert_array_equal(t, ch.recoil_energy_MeV)
    rows = ch.response.sum(axis=1) / (csi.n_molecules * w)
    t_grid = np.linspace(0.0, 6.0, 60001)
    f_t = time_pdf_per_us(t_grid, "delayed") * resp.time_efficiency(t_grid)
    time_part = np.sum(0.5 * (f_t[1:] + f_t[:-1]) * np.diff(t_grid))
    pe_grid = np.linspace(0.0, 60.0, 60001)
    for i in (50, 150, 250):
        e_ee = resp.electron_equivalent_energy_keV(ch.recoil_energy_MeV[i], "nominal")
        k = 1.0 + 9.56 * e_ee
        dens = gamma(a=k, scale=e_ee / (0.0749 * k)).pdf(pe_grid) * resp.energy_efficiency(pe_grid)
        pe_part = np.sum(0.5 * (dens[1:] + dens[:-1]) * np.diff(pe_grid))
        assert rows[i] == pytest.approx(pe_part * time_part, rel=2e-3)
        assert 0.0 <= rows[i] <= 1.0


def test_electron_channels_carry_the_stepping_z_eff(csi):
    el = next(c for c in csi.channels() if c.name == "electron_Cs_prompt")
    nuc = next(c for c in csi.channels() if c.name == "cevns_Cs_prompt")
    assert el.particle == "Cs" and nuc.particle.Z == 55
    t, w = csi.electron_recoil_grid("Cs")
    np.testing.assert_array_equal(t, el.recoil_energy_MeV)
    z = effective_electron_count("Cs", t)
    assert z.max() == 55 - 2 and z.min() < 10  # K shell (36 keV) closed below 15 keV
    # PE response of an electron recoil is that of E_ee = T_e (no quenching)
    probs = resp.pe_bin_probabilities(t * 1e3)
    time = resp.neutrino_time_fractions("prompt")
    rows = el.response.reshape(-1, 9, 11).sum(axis=(1, 2))
    mask = probs.sum(1) > 1e-6
    np.testing.assert_allclose(
        rows[mask], (csi.n_molecules * w * z * probs.sum(1) * time.sum())[mask], rtol=1e-10
    )


def test_sm_prediction_matches_the_published_value(summary):
    # arXiv:2110.07730: SM prediction 341 ± 11 (theory) ± 42 (experiment) CEvNS events
    assert abs(summary["cevns_events"] - 341.0) < np.hypot(11.0, 42.0)
    # the release README recalls 333 (same uncertainty): consistent as well
    assert abs(summary["cevns_events"] - 333.0) < np.hypot(11.0, 42.0)


def test_electron_scattering_is_negligible_in_the_sm(summary):
    # ν–e below ~5 keVee: σ ~ 1e-44 cm² × (T-range / Eν) per electron ⇒ ≪ 1 event
    assert 0.0 < summary["electron_events"] < 1e-2


def test_fitted_cevns_events_and_significance_match_the_publication(summary):
    # arXiv:2110.07730: 306 ± 20 CEvNS events; null hypothesis rejected at 11.6σ
    assert abs(summary["cevns_events_best_fit"] - 306.0) < 2 * 20.0
    assert abs(summary["cevns_significance_sigma"] - 11.6) < 1.0
    assert summary["chi2_background_only"] > summary["chi2_sm"]


def test_summary_reports_the_release_counts(summary):
    assert summary["observed_events"] == 1578
    assert summary["background_events_by_source"]["steady_state"] == pytest.approx(1295)
    assert summary["background_events_by_source"]["brn"] == pytest.approx(18.4)
    assert summary["background_events_by_source"]["nin"] == pytest.approx(5.6)
    assert summary["data"] == "observed" and summary["quenching"] == "nominal"
    assert summary["fluence_per_flavour_cm2"] == pytest.approx(
        0.0848 * 3.198e23 / (4 * np.pi * 1930.0**2)
    )


def test_flux_averaged_cross_section_against_the_pointlike_limit(csi, summary):
    """Point nucleus, T/Eν term dropped: σ(E) = G_F² Q_V² E²/π (Q_V = −N/2 + …), averaged."""
    from nubound.physics.cross_sections.cevns import weak_charge
    from nubound.physics.nuclei import NUCLIDES

    m = units.muon_mass_MeV
    # ⟨E²⟩ of the Michel spectra (analytic): νe m_μ²/10, ν̄μ 2 m_μ²/15; prompt line 29.79 MeV
    e2 = (29.7918**2 + m**2 / 10.0 + 2.0 * m**2 / 15.0) / 3.0
    pointlike = np.mean([
        units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2 / np.pi)
        * weak_charge(n.Z, n.N) ** 2 * e2
        for n in (NUCLIDES["Cs133"], NUCLIDES["I127"])
    ])
    ratio = summary["flux_averaged_cross_section_cm2"] / pointlike
    assert 0.7 < ratio < 0.95  # the form factor suppresses by O(10–20 %) at ~40 MeV


def test_recoil_term_changes_the_prediction_by_less_than_one_percent(csi):
    # docs/physics.md#cevns: the T/Eν term is O(T/Eν) — keep it, but it must be < 1 %
    full = dropped = 0.0
    for ch in csi.channels():
        if ch.kind != "nucleus":
            continue
        full += (cevns_sm_rate(ch).sum(0) @ ch.response).sum()
        dropped += (cevns_sm_rate(ch, keep_recoil_term=False).sum(0) @ ch.response).sum()
    assert abs(dropped / full - 1.0) < 0.01


def test_expected_counts_interface_matches_the_sum_over_channels(csi):
    rates = sm_rates(csi.channels())
    np.testing.assert_allclose(csi.expected_counts(rates), csi.sm_signal(), rtol=1e-12)


@pytest.mark.parametrize("quenching", resp.QUENCHING_CHOICES)
def test_every_quenching_choice_stays_within_the_published_band(quenching):
    csi = CoherentCsI(include_electrons=False)
    assert abs(csi.sm_signal(quenching).sum() - 341.0) < np.hypot(11.0, 42.0)


def test_klein_nystrand_option_suppresses_more_than_helm(csi):
    # KN with R_A = 1.23 A^{1/3} fm, a_k = 0.7 fm has rms radius sqrt(3/5 R_A² + 6 a_k²) ≈ 5.2 fm
    # for Cs, Helm (Lewin–Smith) sqrt(3/5 r₀² + 3 s²) ≈ 4.8 fm: KN suppresses more, by ~10 %
    # at q ≈ 60 MeV (F² ≈ exp(−q² r²/3))
    kn = CoherentCsI(form_factor="klein_nystrand", include_electrons=False)
    ratio = kn.sm_signal().sum() / csi.sm_signal().sum()
    assert 0.8 < ratio < 0.97


def test_chi2_is_batched(csi):
    sm = csi.sm_signal()
    block = np.stack([np.stack([sm, 0.5 * sm, 2 * sm])] * 2)
    chi2 = csi.chi2(block)
    assert chi2.shape == (2, 3)
    assert chi2[0, 0] == pytest.approx(float(csi.chi2(sm)), rel=1e-10)


def test_bad_inputs_raise_clear_errors(csi):
    with pytest.raises(PhysicsInputError, match="nominal"):
        csi.channels("lindhard")
    with pytest.raises(PhysicsInputError, match="mass_kg"):
        CoherentCsI(mass_kg=-1.0)
    with pytest.raises(PhysicsInputError, match="protons_on_target"):
        CoherentCsI(beam=SNSBeam(0.0848, -3.2e23, 19.3))
    with pytest.raises(PhysicsInputError, match="99"):
        csi.chi2(np.ones(98))
    with pytest.raises(PhysicsInputError, match="helm"):
        CoherentCsI(form_factor="woods_saxon")
    with pytest.raises(PhysicsInputError, match="factorized"):
        CoherentCsI(ss_template="smooth")
    with pytest.raises(PhysicsInputError, match="poisson"):
        CoherentCsI(ss_constraint="flat")


def test_registry_builds_the_experiment_and_summary_is_json_ready(summary):
    import json

    from nubound.physics.experiments import get_experiment

    assert isinstance(get_experiment("coherent_csi"), CoherentCsI)
    text = json.dumps(summary)
    for key in (
        "flux_averaged_cross_section_cm2", "fluence_per_flavour_cm2", "cevns_events",
        "electron_events", "background_events", "observed_events", "chi2_sm",
        "chi2_background_only", "signal_strength_best_fit", "data", "quenching",
    ):
        assert f'"{key}"' in text


def test_best_fit_components_reproduce_the_profiled_expectation(csi):
    sm = csi.sm_signal()
    fit = csi.best_fit_components(sm)
    total = sum(fit[k] for k in ("signal", "steady_state", "brn", "nin"))
    # stationarity of the Poisson χ² in the free signal scale: Σ_i (1 − n_i/μ_i) S_i = 0
    score = np.sum((1.0 - csi.observed / total) * sm)
    assert abs(score) < 1e-6 * sm.sum()
    # and in the steady-state scale, balanced by the AC Poisson term 2N[θ − ln(1+θ)]
    ss = csi.background_components["steady_state"]
    theta_ss = fit["theta"]["steady_state"]
    n_ac = csi.anticoincidence_events
    assert np.sum((1.0 - csi.observed / total) * ss) + n_ac * theta_ss / (1 + theta_ss) == (
        pytest.approx(0.0, abs=1e-6 * ss.sum())
    )
    assert fit["theta"]["signal"] == pytest.approx(
        csi.profile(sm, free_signal_norm=True).theta[0]
    )
