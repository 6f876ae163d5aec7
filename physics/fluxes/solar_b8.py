"""Solar ⁸B neutrinos at Earth: spectrum, total flux choices, flavour composition (MSW-LMA).

Spectrum: the standard ⁸B shape λ(Eν) of J. N. Bahcall, E. Lisi, D. E. Alburger,
L. De Braeckeleer, S. J. Freedman, J. Napolitano, Phys. Rev. C 54, 411 (1996) (registered
``fluxes/b8spectrum.txt``: Eν in MeV, λ in 1/MeV, unit area), times a total flux Φ:

- ``b16_gs98``: 5.46 × 10⁶ cm⁻² s⁻¹ ± 12 % (standard solar model B16-GS98, N. Vinyoles et al.,
  ApJ 835, 202 (2017), arXiv:1611.09867, Table 6);
- ``sno_nc``: 5.25 × 10⁶ cm⁻² s⁻¹ ± 4 % (SNO, all phases, B. Aharmim et al., Phys. Rev. C 88,
  025501 (2013): 5.25 ± 0.16 (stat) +0.11 −0.13 (syst); 0.20/5.25 = 3.9 %).

Flavour composition at Earth (day-time, no Earth regeneration), three-flavour adiabatic
MSW-LMA (e.g. H. Nunokawa, S. Parke, R. Zukanovich Funchal, Phys. Rev. D 74, 013006 (2006),
arXiv:hep-ph/0601198, Eqs. (1)–(3) and §IV; docs/experiments/xenonnt_b8.md):

    P_ee(Eν) = cos⁴θ13 [½ + ½ cos 2θ12 cos 2θ12^m(Eν)] + sin⁴θ13,
    cos 2θ12^m = (cos 2θ12 − β) / √((cos 2θ12 − β)² + sin² 2θ12),
    β = 2 √2 G_F n_e cos²θ13 Eν / Δm²21,

with n_e the electron density where ⁸B neutrinos are produced (one effective value, the
production-zone density ≈ 100 N_A cm⁻³; an option). ν_μ and ν_τ share the rest equally
(θ23 = 45°, CP phase neglected): P_eμ = P_eτ = (1 − P_ee)/2.
Oscillation parameters: PDG 2022 (R. L. Workman et al., PTEP 2022, 083C01, "Neutrino masses,
mixing and oscillations"): sin²θ12 = 0.307, sin²θ13 = 0.0220, Δm²21 = 7.53 × 10⁻⁵ eV².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.data import data_path
from nubound.physics.errors import PhysicsInputError

B8_SPECTRUM_KEY = "fluxes/b8spectrum.txt"
SECONDS_PER_YEAR = 365.25 * units.s_per_day  # Julian year (the release's exposures in t·yr)


@dataclass(frozen=True)
class FluxNormalisation:
    """A total ⁸B flux with its relative 1σ uncertainty and source."""

    name: str
    flux_per_cm2_s: float
    relative_uncertainty: float
    source: str


B8_NORMALISATIONS: dict[str, FluxNormalisation] = {
    "b16_gs98": FluxNormalisation(
        "b16_gs98", 5.46e6, 0.12, "SSM B16-GS98, Vinyoles et al., ApJ 835, 202 (2017)"),
    "sno_nc": FluxNormalisation(
        "sno_nc", 5.25e6, 0.20 / 5.25, "SNO all phases, Aharmim et al., PRC 88, 025501 (2013)"),
}


def b8_normalisation(name: str) -> FluxNormalisation:
    """Look up a total-flux choice by name (``b16_gs98``, ``sno_nc``)."""
    try:
        return B8_NORMALISATIONS[name]
    except KeyError:
        raise PhysicsInputError(
            f"unknown 8B flux normalisation '{name}'; allowed: {', '.join(B8_NORMALISATIONS)}"
        ) from None


@cache
def b8_spectrum() -> tuple[NDArray, NDArray]:
    """(Eν [MeV], λ(Eν) [1/MeV]) of the Bahcall et al. (1996) table (best estimate)."""
    table = np.loadtxt(data_path(B8_SPECTRUM_KEY), skiprows=16)
    energy, shape = table[:, 0].copy(), table[:, 1].copy()
    for a in (energy, shape):
        a.setflags(write=False)
    return energy, shape


# PDG 2022 (module docstring)
SIN2_THETA12 = 0.307
SIN2_THETA13 = 0.0220
DM2_21_eV2 = 7.53e-5
B8_PRODUCTION_ELECTRON_DENSITY_NA_PER_CM3 = 100.0


def matter_potential_eV(electron_density_NA_per_cm3: float) -> float:
    """V_CC = √2 G_F n_e in eV for n_e in units of Avogadro's number per cm³ (7.63e-14 eV
    per N_A cm⁻³)."""
    g_f_per_eV2 = units.fermi_constant_per_GeV2 * 1e-18
    hbar_c_eV_cm = units.hbar_c_MeV_cm * 1e6
    n_e = electron_density_NA_per_cm3 * units.avogadro_per_mol * hbar_c_eV_cm**3  # eV³
    return math.sqrt(2.0) * g_f_per_eV2 * n_e


def electron_survival_probability(
    energy_MeV: ArrayLike,
    *,
    electron_density_NA_per_cm3: float = B8_PRODUCTION_ELECTRON_DENSITY_NA_PER_CM3,
    sin2_theta12: float = SIN2_THETA12,
    sin2_theta13: float = SIN2_THETA13,
    dm2_21_eV2: float = DM2_21_eV2,
) -> NDArray:
    """Adiabatic MSW-LMA P_ee(Eν) at Earth (module docstring).

    Examples
    --------
    >>> round(float(electron_survival_probability(10.0)), 2)
    0.32
    """
    e_eV = np.asarray(energy_MeV, dtype=float) * 1e6
    c13 = 1.0 - sin2_theta13
    cos2 = 1.0 - 2.0 * sin2_theta12
    sin2_2 = 4.0 * sin2_theta12 * (1.0 - sin2_theta12)
    beta = 2.0 * matter_potential_eV(electron_density_NA_per_cm3) * c13 * e_eV / dm2_21_eV2
    cos2m = (cos2 - beta) / np.sqrt((cos2 - beta) ** 2 + sin2_2)
    return c13**2 * (0.5 + 0.5 * cos2 * cos2m) + sin2_theta13**2


B8_FLAVOURS = ("nue", "numu", "nutau")


def flavour_fractions(energy_MeV: ArrayLike, **oscillation: float) -> NDArray:
    """(3, nE): fractions of ν_e, ν_μ, ν_τ at Earth (ν_μ, ν_τ share 1 − P_ee equally)."""
    pee = electron_survival_probability(energy_MeV, **oscillation)
    rest = 0.5 * (1.0 - pee)
    return np.stack([pee, rest, rest])
