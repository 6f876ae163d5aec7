"""CEvNS with vector neutral-current non-standard interactions (docs/physics.md#nsi).

For an incoming neutrino of flavour α (ν or ν̄: the vector NSI enter both alike),
Q_V,α² → [Z (g_V^p + 2ε^u_αα + ε^d_αα) + N (g_V^n + ε^u_αα + 2ε^d_αα)]²
         + Σ_{β≠α} [Z (2ε^u_αβ + ε^d_αβ) + N (ε^u_αβ + 2ε^d_αβ)]²
(Barranco, Miranda, Rashba, JHEP 12 (2005) 021, Eq. (2); real, symmetric ε_αβ = ε_βα).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.cross_sections.cevns import (
    cevns_dsigma_dT_cm2_per_MeV,
    nucleon_vector_couplings,
)
from nubound.physics.errors import PhysicsInputError
from nubound.physics.nuclei import Nucleus

LEPTON_OF_FLAVOUR = {"nue": "e", "nuebar": "e", "numu": "mu", "numubar": "mu"}
LEPTONS = ("e", "mu", "tau")


def flavour_lepton(flavour: str) -> str:
    """'e' or 'mu' for the flavours nubound's fluxes carry ("nue", "nuebar", "numu", "numubar")."""
    try:
        return LEPTON_OF_FLAVOUR[flavour]
    except KeyError:
        raise PhysicsInputError(
            f"unknown flavour '{flavour}'; allowed: {', '.join(LEPTON_OF_FLAVOUR)}"
        ) from None


def nsi_epsilon(eps: dict[str, ArrayLike], quark: str, a: str, b: str) -> ArrayLike:
    """ε^q_ab from a dict keyed 'eps_<q>_<ab>' (symmetric in a, b; missing → 0)."""
    for key in (f"eps_{quark}_{a}{b}", f"eps_{quark}_{b}{a}"):
        if key in eps:
            return eps[key]
    return 0.0


def nsi_charge_shift(Z: float, N: float, eps_u: ArrayLike, eps_d: ArrayLike) -> NDArray:
    """Z (2ε^u + ε^d) + N (ε^u + 2ε^d): the NSI change of the coherent vector charge."""
    eu = np.asarray(eps_u, dtype=float)
    ed = np.asarray(eps_d, dtype=float)
    return Z * (2.0 * eu + ed) + N * (eu + 2.0 * ed)


def nsi_weak_charge_squared(
    nucleus: Nucleus,
    flavour: str,
    eps: dict[str, ArrayLike],
    sin2_theta_w: float = units.sin2_theta_w,
) -> NDArray:
    """Q_V,α² with NSI for one flavour (written out as in Barranco et al., Eq. (2))."""
    a = flavour_lepton(flavour)
    gp, gn = nucleon_vector_couplings(sin2_theta_w)
    z, n = nucleus.Z, nucleus.N
    diag = (
        z * (gp + 2.0 * np.asarray(nsi_epsilon(eps, "u", a, a)) + nsi_epsilon(eps, "d", a, a))
        + n * (gn + np.asarray(nsi_epsilon(eps, "u", a, a)) + 2.0 * np.asarray(
            nsi_epsilon(eps, "d", a, a)))
    )
    total = diag**2
    for b in LEPTONS:
        if b != a:
            total = total + nsi_charge_shift(
                z, n, nsi_epsilon(eps, "u", a, b), nsi_epsilon(eps, "d", a, b)
            ) ** 2
    return total


def cevns_nsi_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus: Nucleus,
    flavour: str,
    eps: dict[str, float],
    *,
    sin2_theta_w: float = units.sin2_theta_w,
    form_factor_name: str = "helm",
    form_factor_options: dict | None = None,
) -> NDArray:
    """dσ/dT per nucleus in cm²/MeV with NSI (SM kinematics and form factor, Q_V² replaced)."""
    unit_charge = cevns_dsigma_dT_cm2_per_MeV(
        neutrino_energy_MeV, recoil_energy_MeV, nucleus, sin2_theta_w=sin2_theta_w,
        form_factor_name=form_factor_name, form_factor_options=form_factor_options,
        weak_charge_value=1.0,
    )
    return unit_charge * nsi_weak_charge_squared(nucleus, flavour, eps, sin2_theta_w)
