"""Light scalar mediator φ: CEvNS and ν–e cross sections (docs/physics.md#scalar-mediator).

No interference with the SM (chirality flipping). Nucleus (Cerdeño et al., JHEP 05 (2016) 118,
arXiv:1604.01025, Eq. (2.12); Farzan et al., JHEP 05 (2018) 066):
  dσ/dT = g⁴ Q_S² M² T / (4π Eν² (q² + M_φ²)²) F²(q),  q² = 2 M T,
with g⁴ = (g_ν g_q)² and Q_S = Σ_q [Z (m_p/m_q) f_Tq^p + N (m_n/m_q) f_Tq^n] ≈ 15.1 Z + 14 N
(Cerdeño et al. 2016, below Eq. (2.12); the values the reference analysis uses).
Electron, per electron (Cerdeño et al. 2016, Eq. (2.15)):
  dσ/dT_e = g⁴ m_e² T_e / (4π Eν² (2 m_e T_e + M_φ²)²),  g⁴ = (g_ν g_e)².
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.cross_sections.kinematics import max_recoil_MeV
from nubound.physics.form_factors import recoil_form_factor
from nubound.physics.nuclei import Nucleus

# Scalar charge per proton and per neutron (Cerdeño et al. 2016, below Eq. (2.12)).
SCALAR_CHARGE_PER_PROTON = 15.1
SCALAR_CHARGE_PER_NEUTRON = 14.0


def scalar_charge(Z: float, N: float) -> float:
    """Q_S ≈ 15.1 Z + 14 N (per unit quark coupling)."""
    return SCALAR_CHARGE_PER_PROTON * Z + SCALAR_CHARGE_PER_NEUTRON * N


def scalar_nucleus_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus: Nucleus,
    coupling: ArrayLike,
    mass_MeV: ArrayLike,
    *,
    form_factor_name: str = "helm",
    form_factor_options: dict | None = None,
) -> NDArray:
    """Scalar-exchange dσ/dT per nucleus in cm²/MeV (zero beyond the endpoint)."""
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    m = nucleus.mass_MeV
    ff = recoil_form_factor(form_factor_name, t, m, nucleus.A, form_factor_options)
    g4 = np.asarray(coupling, dtype=float) ** 4
    qs = scalar_charge(nucleus.Z, nucleus.N)
    propagator = 1.0 / (2.0 * m * t + np.asarray(mass_MeV, dtype=float) ** 2)
    ds = g4 * qs**2 * m**2 * t * propagator**2 / (4.0 * np.pi * e**2)
    return units.per_MeV2_to_cm2(np.where(t <= max_recoil_MeV(e, m), ds * ff**2, 0.0))


def scalar_electron_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    coupling: ArrayLike,
    mass_MeV: ArrayLike,
) -> NDArray:
    """Scalar-exchange dσ/dT_e per free electron in cm²/MeV (zero beyond the endpoint)."""
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    me = units.electron_mass_MeV
    g4 = np.asarray(coupling, dtype=float) ** 4
    propagator = 1.0 / (2.0 * me * t + np.asarray(mass_MeV, dtype=float) ** 2)
    ds = g4 * me**2 * t * propagator**2 / (4.0 * np.pi * e**2)
    return units.per_MeV2_to_cm2(np.where(t <= max_recoil_MeV(e, me), ds, 0.0))
