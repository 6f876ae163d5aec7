"""Neutrino magnetic moment scattering on nuclei and electrons (docs/physics.md#magnetic-moment).

Helicity flipping, so it adds to the SM rate without interference
(Vogel & Engel, PRD 39 (1989) 3378, Eq. (2)):
electron, per electron: dσ/dT = (π α² μ_ν² / m_e²) (1/T − 1/Eν), μ_ν in Bohr magnetons;
nucleus: the same times Z² F²(q) (e.g. Barranco et al., JHEP 12 (2005) 021 / Kosmas et al.,
PRD 92 (2015) 013011, Eq. (12)). Zero beyond the kinematic endpoint.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.cross_sections.kinematics import max_recoil_MeV
from nubound.physics.form_factors import recoil_form_factor
from nubound.physics.nuclei import Nucleus


def magnetic_moment_prefactor_cm2() -> float:
    """π α² / m_e² in cm² (multiplies μ_ν²/μ_B² and (1/T − 1/Eν) in MeV⁻¹)."""
    return units.per_MeV2_to_cm2(np.pi * units.fine_structure**2 / units.electron_mass_MeV**2)


def _kinematic(e: NDArray, t: NDArray, target_mass_MeV: float) -> NDArray:
    allowed = t <= max_recoil_MeV(e, target_mass_MeV)
    return np.where(allowed, 1.0 / t - 1.0 / e, 0.0)


def magnetic_moment_electron_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike, recoil_energy_MeV: ArrayLike, mu_bohr: ArrayLike
) -> NDArray:
    """dσ/dT_e per free electron in cm²/MeV for an effective moment μ_ν (in μ_B)."""
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    mu = np.asarray(mu_bohr, dtype=float)
    return magnetic_moment_prefactor_cm2() * mu**2 * _kinematic(e, t, units.electron_mass_MeV)


def magnetic_moment_nucleus_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus: Nucleus,
    mu_bohr: ArrayLike,
    *,
    form_factor_name: str = "helm",
    form_factor_options: dict | None = None,
) -> NDArray:
    """dσ/dT per nucleus in cm²/MeV: the electron formula times Z² F²(q)."""
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    ff = recoil_form_factor(
        form_factor_name, t, nucleus.mass_MeV, nucleus.A, form_factor_options
    )
    mu = np.asarray(mu_bohr, dtype=float)
    return (
        magnetic_moment_prefactor_cm2() * mu**2 * nucleus.Z**2 * ff**2
        * _kinematic(e, t, nucleus.mass_MeV)
    )
