"""Physical constants and unit conversions, in one place.

Internal convention: energies and masses in MeV, lengths in cm, times in s, cross sections
in cm². Names carry their unit. Values: PDG 2022 (R.L. Workman et al., PTEP 2022, 083C01)
and CODATA 2018, as listed in section 1 of nubound's physics reference.
"""

import math

# --- unit conversions -------------------------------------------------------------------
keV_per_MeV = 1.0e3
MeV_per_GeV = 1.0e3
eV_per_keV = 1.0e3
cm_per_m = 1.0e2
cm_per_fm = 1.0e-13
s_per_day = 86400.0
ns_per_us = 1.0e3
g_per_kg = 1.0e3

# --- fundamental constants (PDG 2022 / CODATA 2018) ------------------------------------
fermi_constant_per_GeV2 = 1.1663787e-5  # G_F / (ħc)³, PDG 2022
fermi_constant_per_MeV2 = fermi_constant_per_GeV2 / MeV_per_GeV**2
fine_structure = 1.0 / 137.035999084  # α, CODATA 2018
hbar_c_MeV_fm = 197.3269804  # ħc, CODATA 2018
hbar_c_MeV_cm = hbar_c_MeV_fm * cm_per_fm
# (ħc)² converts MeV⁻² to cm²: 0.3893794 GeV² mb (PDG 2022)
hbar_c_squared_MeV2_cm2 = hbar_c_MeV_cm**2
avogadro_per_mol = 6.02214076e23  # CODATA 2018 (exact)
atomic_mass_unit_MeV = 931.49410242  # CODATA 2018

electron_mass_MeV = 0.51099895  # PDG 2022
proton_mass_MeV = 938.27208816  # PDG 2022
neutron_mass_MeV = 939.56542052  # PDG 2022
muon_mass_MeV = 105.6583755  # PDG 2022
charged_pion_mass_MeV = 139.57039  # PDG 2022
charged_pion_lifetime_ns = 26.033  # PDG 2022
muon_lifetime_ns = 2196.9811  # PDG 2022

# Weak mixing angle at q → 0 in the MS-bar scheme (PDG 2022, "Electroweak model" review).
sin2_theta_w_pdg = 0.23857
# Value used by the reference analysis' Dresden-II code (docs/physics.md#constants).
sin2_theta_w_reference = 0.23868
# nubound's default: the low-energy PDG value.
sin2_theta_w = sin2_theta_w_pdg

# Bohr magneton in natural units, μ_B = e / (2 m_e), e = sqrt(4πα).
bohr_magneton_per_MeV = math.sqrt(4.0 * math.pi * fine_structure) / (2.0 * electron_mass_MeV)


def per_MeV2_to_cm2(x: float) -> float:
    """Convert a cross section from MeV⁻² (natural units) to cm²."""
    return x * hbar_c_squared_MeV2_cm2
