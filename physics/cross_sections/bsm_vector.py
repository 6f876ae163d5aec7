"""Light vector mediator Z′: CEvNS and ν–e cross sections with SM interference
(docs/physics.md#vector-mediator).

A Z′ of mass M coupling with strength g times charges Q′ adds a t-channel vector exchange
alongside the Z's (Cerdeño et al., JHEP 05 (2016) 118, Eqs. (2.9), (2.14); Bertuzzo et al.,
JHEP 04 (2017) 073):
  nucleus:   Q_V → Q_V + s g² Q′_ν (Z Q′_p + N Q′_n) / (√2 G_F (q² + M²)),  q² = 2 M_N T,
             Q′_p = 2Q′_u + Q′_d, Q′_n = Q′_u + 2Q′_d;
  electron:  g_V → g_V + s g² Q′_ν Q′_e / (√2 G_F (2 m_e T + M²)).
s = +1 ("standard": Z and Z′ integrated out alike, so the universal model, Q_V < 0, interferes
destructively for g² > 0) or −1 ("flipped", the relative sign of the Dresden-II working code).

Antineutrinos: both the Z and the Z′ couple to the same left-handed neutrino current; reversing
the neutrino line flips the sign of that current for both exchanges at once, so the relative
sign of the Z′ term and the SM vector couplings is the same for ν and ν̄. The ν̄ sees the same
g_V shift (and the same Q_V shift); only g_A → −g_A as in the SM.

L_μ − L_τ couples to quarks and electrons only through the μ/τ loop (kinetic mixing), taken
at q² → 0: good to O(q²/m_μ²), i.e. a few % at COHERENT's largest recoils.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.cross_sections.bsm_nsi import flavour_lepton
from nubound.physics.cross_sections.cevns import cevns_dsigma_dT_cm2_per_MeV, weak_charge
from nubound.physics.cross_sections.nu_e import electron_couplings, nu_e_dsigma_dT_cm2_per_MeV
from nubound.physics.errors import PhysicsInputError
from nubound.physics.nuclei import Nucleus

INTERFERENCE_SIGNS = {"standard": 1.0, "flipped": -1.0}

# τ mass, PDG 2022 (only for the loop-induced kinetic mixing of L_μ − L_τ).
TAU_MASS_MeV = 1776.86
# L_μ − L_τ: the Z′ couples to charged fermions only through μ/τ loops (kinetic mixing with the
# photon); at q² ≪ m_μ² the induced coupling is g ε e Q_f with ε e = g (α/3π) ln(m_τ²/m_μ²)
# (Amaral, Cerdeño, Foldenauer, Reid, JHEP 12 (2020) 155, arXiv:2006.11225, Eqs. (2.3)–(2.4),
# q → 0 limit; the q² dependence of the loop is neglected — see the module docstring).
KINETIC_MIXING_LMU_LTAU = (
    units.fine_structure / (3.0 * math.pi)
    * math.log(TAU_MASS_MeV**2 / units.muon_mass_MeV**2)
)


@dataclass(frozen=True)
class VectorCharges:
    """U(1)′ charges: per lepton flavour of the neutrino, per quark, and of the electron."""

    name: str
    neutrino_e: float
    neutrino_mu: float
    neutrino_tau: float
    up: float
    down: float
    electron: float
    source: str

    def neutrino(self, flavour: str) -> float:
        """Q′_ν of the flavour ("nue", "nuebar", "numu", "numubar"); ν̄ as ν (see above)."""
        return {"e": self.neutrino_e, "mu": self.neutrino_mu, "tau": self.neutrino_tau}[
            flavour_lepton(flavour)
        ]

    @property
    def proton(self) -> float:
        """Q′_p = 2Q′_u + Q′_d."""
        return 2.0 * self.up + self.down

    @property
    def neutron(self) -> float:
        """Q′_n = Q′_u + 2Q′_d."""
        return self.up + 2.0 * self.down

    def nuclear(self, Z: float, N: float) -> float:
        """Z Q′_p + N Q′_n."""
        return Z * self.proton + N * self.neutron


_K = KINETIC_MIXING_LMU_LTAU
VECTOR_CHARGES: dict[str, VectorCharges] = {
    c.name: c
    for c in (
        VectorCharges("universal", 1, 1, 1, 1, 1, 1,
                      "docs/physics.md#vector-mediator; arXiv:2202.10829"),
        VectorCharges(
            "b_minus_l", -1, -1, -1, 1 / 3, 1 / 3, -1,
            "docs/physics.md#vector-mediator; arXiv:2202.10829"
        ),
        VectorCharges("leptonic", 1, 1, 1, 0, 0, 1,
                      "docs/physics.md#vector-mediator; arXiv:2202.10829"),
        # lepton-number charges L_e(e⁻, ν_e) = +1 etc.; anomaly-free with ν_R-free SM content
        # (He, Joshi, Lew, Volkas, PRD 43 (1991) 22; PRD 44 (1991) 2118)
        VectorCharges("l_mu_minus_l_e", -1, 1, 0, 0, 0, -1, "He et al. PRD 43 (1991) 22"),
        VectorCharges("l_e_minus_l_tau", 1, 0, -1, 0, 0, 1, "He et al. PRD 43 (1991) 22"),
        VectorCharges(
            "l_mu_minus_l_tau", 0, 1, -1, 2 / 3 * _K, -1 / 3 * _K, -_K,
            "He et al. PRD 44 (1991) 2118; kinetic mixing: Amaral et al. arXiv:2006.11225",
        ),
    )
}


def vector_charges(name: str) -> VectorCharges:
    """Charges of the named U(1)′ model (keys of ``VECTOR_CHARGES``)."""
    try:
        return VECTOR_CHARGES[name]
    except KeyError:
        raise PhysicsInputError(
            f"unknown vector charges '{name}'; allowed: {', '.join(VECTOR_CHARGES)}"
        ) from None


def _coupling_shift(
    interference: str, coupling: ArrayLike, target_charges: float, q2_MeV2: NDArray,
    mass_MeV: ArrayLike,
) -> NDArray:
    """± g² Q_ν Q_target / (√2 G_F (q² + M²)), dimensionless: the Z′ term added to the SM
    coupling (Q_V of the nucleus or g_V of the electron); ``target_charges`` = Q_ν Q_target."""
    m = np.asarray(mass_MeV, dtype=float)
    g2 = np.asarray(coupling, dtype=float) ** 2
    propagator = 1.0 / (math.sqrt(2.0) * units.fermi_constant_per_MeV2 * (q2_MeV2 + m**2))
    return INTERFERENCE_SIGNS[interference] * g2 * target_charges * propagator


def vector_nucleus_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    nucleus: Nucleus,
    flavour: str,
    coupling: ArrayLike,
    mass_MeV: ArrayLike,
    charges: VectorCharges,
    *,
    interference: str = "standard",
    sin2_theta_w: float = units.sin2_theta_w,
    form_factor_name: str = "helm",
    form_factor_options: dict | None = None,
) -> NDArray:
    """SM + Z′ CEvNS dσ/dT per nucleus in cm²/MeV (Q_V shifted, T-dependent)."""
    t = np.asarray(recoil_energy_MeV, dtype=float)
    shift = _coupling_shift(
        interference, coupling, charges.neutrino(flavour) * charges.nuclear(nucleus.Z, nucleus.N),
        2.0 * nucleus.mass_MeV * t, mass_MeV,
    )
    qv = weak_charge(nucleus.Z, nucleus.N, sin2_theta_w) + shift
    return cevns_dsigma_dT_cm2_per_MeV(
        neutrino_energy_MeV, t, nucleus, sin2_theta_w=sin2_theta_w,
        form_factor_name=form_factor_name, form_factor_options=form_factor_options,
        weak_charge_value=qv,
    )


def vector_electron_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    flavour: str,
    coupling: ArrayLike,
    mass_MeV: ArrayLike,
    charges: VectorCharges,
    *,
    interference: str = "standard",
    sin2_theta_w: float = units.sin2_theta_w,
) -> NDArray:
    """SM + Z′ ν–e dσ/dT_e per free electron in cm²/MeV (g_V shifted, T-dependent)."""
    t = np.asarray(recoil_energy_MeV, dtype=float)
    shift = _coupling_shift(
        interference, coupling, charges.neutrino(flavour) * charges.electron,
        2.0 * units.electron_mass_MeV * t, mass_MeV,
    )
    g_v, g_a = electron_couplings(flavour, sin2_theta_w)
    return nu_e_dsigma_dT_cm2_per_MeV(
        neutrino_energy_MeV, t, flavour, couplings=(g_v + shift, g_a)
    )
