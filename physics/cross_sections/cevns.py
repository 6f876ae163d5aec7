"""Standard-Model CEvNS cross section (docs/physics.md#cevns).

dσ/dT = (G_F² M / π) (1 − M T/(2Eν²) − T/Eν) Q_V² F²(q),  Q_V = g_V^p Z + g_V^n N,
e.g. Freedman, PRD 9 (1974) 1389; Barranco, Miranda, Rashba, JHEP 12 (2005) 021, Eq. (1)
(written there with Q_W = −2 Q_V and G_F²M/(4π)).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.form_factors import recoil_form_factor
from nubound.physics.nuclei import Nucleus

# Radiatively corrected nucleon couplings (Erler & Su, Prog. Part. Nucl. Phys. 71 (2013) 119;
# PDG 2022 electroweak review), an option to the tree-level ones.
G_V_PROTON_RADIATIVE = 0.0229
G_V_NEUTRON_RADIATIVE = -0.5117


def nucleon_vector_couplings(
    sin2_theta_w: float = units.sin2_theta_w, *, radiative: bool = False
) -> tuple[float, float]:
    """(g_V^p, g_V^n): tree level 1/2 − 2 sin²θ_W and −1/2, or the radiatively corrected pair."""
    if radiative:
        return G_V_PROTON_RADIATIVE, G_V_NEUTRON_RADIATIVE
    return 0.5 - 2.0 * sin2_theta_w, -0.5


def weak_charge(
    Z: float, N: float, sin2_theta_w: float = units.sin2_theta_w, *, radiative: bool = False
) -> float:
    """Q_V = g_V^p Z + g_V^n N (negative: the neutron term dominates).

    Examples
    --------
    >>> round(weak_charge(55, 78), 4)  # ¹³³Cs: (1/2 − 2 sin²θ_W) Z − N/2
    -37.7427
    """
    gp, gn = nucleon_vector_couplings(sin2_theta_w, radiative=radiative)
    return gp * Z + gn * N


def cevns_kinematic_factor(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus_mass_MeV: float,
    *,
    keep_recoil_term: bool = True,
) -> NDArray:
    """1 − M T/(2Eν²) − T/Eν, set to 0 beyond the endpoint. Broadcasts Eν against T."""
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    k = 1.0 - nucleus_mass_MeV * t / (2.0 * e**2)
    if keep_recoil_term:
        k = k - t / e
    return np.clip(k, 0.0, None)


def cevns_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus: Nucleus,
    *,
    sin2_theta_w: float = units.sin2_theta_w,
    form_factor_name: str = "helm",
    form_factor_options: dict | None = None,
    weak_charge_value: float | None = None,
    keep_recoil_term: bool = True,
) -> NDArray:
    """SM CEvNS dσ/dT per nucleus in cm²/MeV; Eν and T in MeV, broadcast against each other.

    Flavour independent at tree level (no charge radius corrections). ``weak_charge_value``
    replaces Q_V (used by the BSM layer and the radiative option).
    """
    qv = (
        weak_charge(nucleus.Z, nucleus.N, sin2_theta_w)
        if weak_charge_value is None
        else weak_charge_value
    )
    t = np.asarray(recoil_energy_MeV, dtype=float)
    ff = recoil_form_factor(
        form_factor_name, t, nucleus.mass_MeV, nucleus.A, form_factor_options
    )
    kin = cevns_kinematic_factor(
        neutrino_energy_MeV, t, nucleus.mass_MeV, keep_recoil_term=keep_recoil_term
    )
    prefactor = units.fermi_constant_per_MeV2**2 * nucleus.mass_MeV / np.pi
    return units.per_MeV2_to_cm2(prefactor * kin * qv**2 * ff**2)


def cevns_total_cross_section_cm2(
    neutrino_energy_MeV: ArrayLike, nucleus: Nucleus, *, n_points: int = 400, **options
) -> NDArray:
    """σ(Eν) = ∫₀^{T_max} dσ/dT dT (Gauss–Legendre in T, per Eν)."""
    from nubound.physics.cross_sections.kinematics import max_recoil_MeV

    e = np.atleast_1d(np.asarray(neutrino_energy_MeV, dtype=float))
    x, w = np.polynomial.legendre.leggauss(n_points)
    tmax = max_recoil_MeV(e, nucleus.mass_MeV)[:, None]
    t = 0.5 * tmax * (x[None, :] + 1.0)
    ds = cevns_dsigma_dT_cm2_per_MeV(e[:, None], t, nucleus, **options)
    return (0.5 * tmax[:, 0]) * (ds @ w)
