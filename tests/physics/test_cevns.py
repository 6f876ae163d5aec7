"""SM CEvNS cross section: weak charge, analytic total cross section, N² scaling, endpoint,
flux-averaged COHERENT values, and the size of the T/Eν term."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nubound.physics import units
from nubound.physics.cross_sections.cevns import (
    cevns_dsigma_dT_cm2_per_MeV,
    cevns_total_cross_section_cm2,
    nucleon_vector_couplings,
    weak_charge,
)
from nubound.physics.cross_sections.kinematics import max_recoil_MeV
from nubound.physics.nuclei import NUCLIDES, Nucleus

CS, AR = NUCLIDES["Cs133"], NUCLIDES["Ar40"]
# Klein–Nystrand with zero radius and range is exactly F = 1 (point nucleus)
POINT = {"form_factor_name": "klein_nystrand",
         "form_factor_options": {"radius_coefficient_fm": 0.0, "range_fm": 0.0}}
GF2_CM2 = units.per_MeV2_to_cm2(units.fermi_constant_per_MeV2**2)


def test_weak_charge_matches_textbook_form():
    # Q_W = N − (1 − 4 sin²θ_W) Z (Drukier & Stodolsky 1984), Q_V = −Q_W/2
    s2 = units.sin2_theta_w
    for nuc in NUCLIDES.values():
        q_w = nuc.N - (1 - 4 * s2) * nuc.Z
        assert weak_charge(nuc.Z, nuc.N) == pytest.approx(-q_w / 2, rel=1e-14, abs=0)
    # ¹³³Cs: Q_V = 55 (1/2 − 2·0.23857) − 78/2 = −37.7427
    assert weak_charge(55, 78) == pytest.approx(-37.74270, abs=1e-5)


def test_radiative_couplings_option():
    assert nucleon_vector_couplings(radiative=True) == (0.0229, -0.5117)
    assert weak_charge(55, 78, radiative=True) == pytest.approx(55 * 0.0229 - 78 * 0.5117)


def test_total_cross_section_point_nucleus_analytic():
    # ∫₀^{T_max} (1 − MT/2E² − T/E) dT = T_max/2 = E²/(M + 2E) exactly, so with F = 1
    # σ = G_F² M Q_V² E² / (π (M + 2E)); without the T/E term ∫ = T_max − M T_max²/(4E²).
    e = np.array([5.0, 30.0, 52.8])
    for nuc in (CS, AR):
        qv = weak_charge(nuc.Z, nuc.N)
        m = nuc.mass_MeV
        expected = GF2_CM2 * m * qv**2 * e**2 / (np.pi * (m + 2 * e))
        got = cevns_total_cross_section_cm2(e, nuc, **POINT)
        assert got == pytest.approx(expected, rel=1e-12, abs=0)
        tmax = max_recoil_MeV(e, m)
        expected_no_t = GF2_CM2 * m / np.pi * qv**2 * (tmax - m * tmax**2 / (4 * e**2))
        got = cevns_total_cross_section_cm2(e, nuc, keep_recoil_term=False, **POINT)
        assert got == pytest.approx(expected_no_t, rel=1e-12, abs=0)


def test_low_energy_limit_textbook():
    # M ≫ E: σ → G_F² Q_W² E²/(4π) (Freedman 1974; Drukier & Stodolsky 1984 Eq. 2)
    e = 1.0
    q_w = CS.N - (1 - 4 * units.sin2_theta_w) * CS.Z
    expected = GF2_CM2 * q_w**2 * e**2 / (4 * np.pi)
    got = cevns_total_cross_section_cm2(e, CS, **POINT)[0]
    assert got == pytest.approx(expected, rel=3 * e / CS.mass_MeV, abs=0)
    # by hand: G_F²(ħc)² = 5.2973e-44 cm² MeV⁻², Q_W(¹³³Cs) = 75.485 → 2.402e-41 cm²
    assert got == pytest.approx(2.402e-41, rel=1e-3, abs=0)


def test_pure_neutron_coupling_scales_as_n_squared():
    # sin²θ_W = 1/4 ⇒ g_V^p = 0: σ depends on N only, ∝ N²
    opts = dict(POINT, sin2_theta_w=0.25)
    m = CS.mass_MeV
    a = Nucleus("a", 55, 78, m)
    b = Nucleus("b", 10, 78, m)
    c = Nucleus("c", 55, 156, m)
    t = np.array([1e-3, 5e-3, 1e-2])
    da = cevns_dsigma_dT_cm2_per_MeV(30.0, t, a, **opts)
    db = cevns_dsigma_dT_cm2_per_MeV(30.0, t, b, **opts)
    dc = cevns_dsigma_dT_cm2_per_MeV(30.0, t, c, **opts)
    assert db == pytest.approx(da, rel=1e-14, abs=0)
    assert dc == pytest.approx(4 * da, rel=1e-14, abs=0)


def test_weak_charge_override_and_flavour_independence():
    t = np.array([2e-3, 8e-3])
    base = cevns_dsigma_dT_cm2_per_MeV(30.0, t, CS)
    qv = weak_charge(CS.Z, CS.N)
    doubled = cevns_dsigma_dT_cm2_per_MeV(30.0, t, CS, weak_charge_value=2 * qv)
    assert doubled == pytest.approx(4 * base, rel=1e-14, abs=0)


@settings(max_examples=60, deadline=None)
@given(
    e=st.floats(min_value=0.5, max_value=60.0),
    frac=st.floats(min_value=0.0, max_value=2.0),
    nuc=st.sampled_from(list(NUCLIDES.values())),
    ff=st.sampled_from(["helm", "klein_nystrand"]),
)
def test_nonnegative_and_zero_beyond_endpoint(e, frac, nuc, ff):
    tmax = float(max_recoil_MeV(e, nuc.mass_MeV))
    t = frac * tmax
    ds = float(cevns_dsigma_dT_cm2_per_MeV(e, t, nuc, form_factor_name=ff))
    assert ds >= 0.0
    if frac > 1.0 + 1e-9:
        assert ds == 0.0
    if frac < 0.99:
        assert ds > 0.0 or ff == "helm"  # Helm has zeros only at q r₀ ≥ 4.49 (not reached)


def _dar_spectra(n=96):
    """SNS π-DAR: prompt line, delayed νe and ν̄μ Michel spectra
    (docs/physics.md#pion-decay-at-rest), unit norm."""
    mmu, mpi = units.muon_mass_MeV, units.charged_pion_mass_MeV
    line = (mpi**2 - mmu**2) / (2 * mpi)
    x, w = np.polynomial.legendre.leggauss(n)
    e = 0.25 * mmu * (x + 1)
    wt = 0.25 * mmu * w
    f_nue = 192 / mmu * (e / mmu) ** 2 * (0.5 - e / mmu)
    f_numubar = 64 / mmu * (e / mmu) ** 2 * (0.75 - e / mmu)
    return line, e, wt * f_nue, wt * f_numubar


def _flux_averaged(nuc, **opts):
    line, e, w_e, w_mb = _dar_spectra()
    s_line = cevns_total_cross_section_cm2(line, nuc, n_points=200, **opts)[0]
    s_e = cevns_total_cross_section_cm2(e, nuc, n_points=200, **opts)
    return (s_line + w_e @ s_e + w_mb @ s_e) / 3


def test_dar_spectra_normalised():
    line, _, w_e, w_mb = _dar_spectra()
    assert line == pytest.approx(29.792, abs=1e-3)  # docs/physics.md#pion-decay-at-rest: 29.79 MeV
    assert w_e.sum() == pytest.approx(1.0, rel=1e-12, abs=0)
    assert w_mb.sum() == pytest.approx(1.0, rel=1e-12, abs=0)


def test_flux_averaged_cross_sections_vs_coherent():
    # COHERENT SM flux-averaged predictions quoted with the measurements: Ar (CENNS-10,
    # PRL 126 (2021) 012002, measured (2.2 ± 0.7)e-39 cm²): SM 1.8e-39 cm²; CsI (PRL 129 (2022)
    # 081801, arXiv:2110.07730, per nucleus): SM (189 ± 6)e-40 cm². Equal νμ, νe, ν̄μ weights.
    # nubound: Ar 1.82e-39 (Helm) / 1.77e-39 (KN); CsI 187e-40 (Helm) / 179e-40 (KN).
    ar_kn = _flux_averaged(AR, form_factor_name="klein_nystrand")
    ar_helm = _flux_averaged(AR, form_factor_name="helm")
    assert ar_kn == pytest.approx(1.8e-39, abs=0.05e-39)
    assert ar_helm == pytest.approx(1.8e-39, abs=0.05e-39)
    csi_helm = 0.5 * (_flux_averaged(CS) + _flux_averaged(NUCLIDES["I127"]))
    assert csi_helm == pytest.approx(189e-40, abs=6e-40)


def test_recoil_term_changes_coherent_like_counts_below_one_percent():
    # docs/physics.md#cevns: dropping T/Eν must change COHERENT counts by < 1 %. Counts above a
    # CsI-like (5 keVnr) and an Ar-like (20 keVnr) threshold, π-DAR flux, Helm.
    line, e, w_e, w_mb = _dar_spectra()
    energies = np.concatenate([[line], e])
    weights = np.concatenate([[1.0], w_e + w_mb])
    for nuc, thr in ((CS, 5e-3), (AR, 20e-3)):
        t = np.linspace(thr, float(max_recoil_MeV(energies.max(), nuc.mass_MeV)), 4000)
        counts = []
        for keep in (True, False):
            ds = cevns_dsigma_dT_cm2_per_MeV(
                energies[:, None], t[None, :], nuc, keep_recoil_term=keep
            )
            counts.append(weights @ np.trapezoid(ds, t, axis=1))
        change = abs(counts[0] / counts[1] - 1)
        assert 0 < change < 0.01
