"""Constants of physics/units.py against independent published numbers and relations."""

import math

import pytest

from nubound.physics import units

# CODATA 2018 exact SI values (not used by units.py)
ELEMENTARY_CHARGE_C = 1.602176634e-19
SPEED_OF_LIGHT_M_PER_S = 299792458.0
PLANCK_REDUCED_MEV_S = 6.582119569e-22  # ħ in MeV s (CODATA 2018)


def test_hbar_c_squared_matches_pdg_gev2_mb():
    # PDG 2022, "Physical constants": (ħc)² = 0.3893793721 GeV² mb; 1 mb = 1e-27 cm²
    one_per_gev2_in_cm2 = units.per_MeV2_to_cm2(1.0 / units.MeV_per_GeV**2)
    assert one_per_gev2_in_cm2 == pytest.approx(0.3893793721e-27, rel=1e-8, abs=0)


def test_hbar_c_matches_hbar_times_c():
    # ħc from CODATA ħ (MeV s) and the exact c: an independent route to 197.3269804 MeV fm
    hbar_c_fm = PLANCK_REDUCED_MEV_S * SPEED_OF_LIGHT_M_PER_S * 1e15
    assert units.hbar_c_MeV_fm == pytest.approx(hbar_c_fm, rel=1e-9, abs=0)


def test_fermi_constant_reproduces_muon_lifetime():
    # Γ_μ = G_F² m_μ⁵/(192π³) (1 − 8 m_e²/m_μ²) (1 + α/(2π) (25/4 − π²)) (Kinoshita & Sirlin
    # 1959; PDG 2022 "Electroweak model" Eq. 10.6): G_F (PDG) and m_μ must give τ_μ (PDG).
    gf, mmu, me, alpha = (
        units.fermi_constant_per_MeV2, units.muon_mass_MeV, units.electron_mass_MeV,
        units.fine_structure,
    )
    width = gf**2 * mmu**5 / (192 * math.pi**3)
    width *= (1 - 8 * (me / mmu) ** 2) * (1 + alpha / (2 * math.pi) * (25 / 4 - math.pi**2))
    tau_ns = PLANCK_REDUCED_MEV_S / width * 1e9
    # O(α²) corrections are ~1e-5 (measured agreement 5e-6); PDG τ_μ = 2196.9811 ns
    assert tau_ns == pytest.approx(units.muon_lifetime_ns, rel=3e-5, abs=0)


def test_bohr_magneton_in_mev_per_tesla():
    # μ_B = e/(2 m_e) in natural (Heaviside–Lorentz) units; 1 T ↔ e_SI ħ c²/e_nat MeV².
    # CODATA 2018: μ_B = 5.7883818060e-5 eV/T.
    e_nat = math.sqrt(4 * math.pi * units.fine_structure)
    tesla_MeV2 = ELEMENTARY_CHARGE_C * PLANCK_REDUCED_MEV_S * SPEED_OF_LIGHT_M_PER_S**2
    tesla_MeV2 /= ELEMENTARY_CHARGE_C * 1e6 * e_nat  # C·T·m²/s² = J; 1 MeV = e·1e6 J
    mu_b_MeV_per_T = units.bohr_magneton_per_MeV * tesla_MeV2
    assert mu_b_MeV_per_T == pytest.approx(5.7883818060e-11, rel=1e-8, abs=0)


def test_bohr_magneton_cross_section_scale():
    # α μ_B² = π α²/m_e² = 2.495e-25 cm² (Vogel & Engel, PRD 39 (1989) 3378, Eq. 2): the
    # magnetic-moment cross section's scale fixes e = sqrt(4πα) in μ_B = e/(2m_e).
    scale_cm2 = units.per_MeV2_to_cm2(units.fine_structure * units.bohr_magneton_per_MeV**2)
    assert scale_cm2 == pytest.approx(2.495e-25, rel=1e-3, abs=0)
    exact = math.pi * units.fine_structure**2 / units.electron_mass_MeV**2
    scale = units.fine_structure * units.bohr_magneton_per_MeV**2
    assert scale == pytest.approx(exact, rel=1e-12, abs=0)


def test_atomic_mass_unit_vs_nucleon_masses():
    # 1 u lies below m_p and m_n by the binding per nucleon of ¹²C (7.68 MeV) plus the
    # n–p average offset: m_p − u = 6.78 MeV (CODATA 2018).
    assert units.proton_mass_MeV - units.atomic_mass_unit_MeV == pytest.approx(6.77799, abs=1e-4)


def test_weak_mixing_angle_choices():
    assert units.sin2_theta_w == units.sin2_theta_w_pdg == pytest.approx(0.23857)
    assert units.sin2_theta_w_reference == pytest.approx(0.23868)


def test_unit_conversions():
    assert units.hbar_c_MeV_cm == pytest.approx(197.3269804e-13, rel=1e-12, abs=0)
    assert units.s_per_day == 24 * 3600
