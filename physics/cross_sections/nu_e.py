"""Standard-Model neutrino–electron elastic scattering
(docs/physics.md#neutrino-electron-scattering).

dσ/dT_e = (G_F² m_e / 2π) [(g_V + g_A)² + (g_V − g_A)² (1 − T/Eν)² − (g_V² − g_A²) m_e T/Eν²]
('t Hooft, PLB 37 (1971) 195; Vogel & Engel, PRD 39 (1989) 3378, Eq. (1); PDG 2022
"Electroweak model" review). Per free electron; atomic binding enters through
``atomic_binding.effective_electron_count``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units
from nubound.physics.errors import PhysicsInputError

FLAVOURS = ("nue", "nuebar", "numu", "numubar", "nutau", "nutaubar")


def electron_couplings(
    flavour: str, sin2_theta_w: float = units.sin2_theta_w
) -> tuple[float, float]:
    """(g_V, g_A) of ν_α e scattering, NC plus CC for ν_e; g_A → −g_A for antineutrinos.

    Examples
    --------
    >>> electron_couplings("nuebar", sin2_theta_w=0.25)  # g_V = 1/2 + 2 s², g_A → −g_A
    (1.0, -0.5)
    """
    if flavour not in FLAVOURS:
        raise PhysicsInputError(f"unknown flavour '{flavour}'; allowed: {', '.join(FLAVOURS)}")
    if flavour.startswith("nue"):
        g_v, g_a = 0.5 + 2.0 * sin2_theta_w, 0.5
    else:
        g_v, g_a = -0.5 + 2.0 * sin2_theta_w, -0.5
    if flavour.endswith("bar"):
        g_a = -g_a
    return g_v, g_a


def nu_e_dsigma_dT_cm2_per_MeV(
    neutrino_energy_MeV: ArrayLike,
    recoil_energy_MeV: ArrayLike,
    flavour: str,
    *,
    sin2_theta_w: float = units.sin2_theta_w,
    couplings: tuple[float, float] | None = None,
) -> NDArray:
    """dσ/dT_e per free electron in cm²/MeV, zero beyond T_max = 2Eν²/(m_e + 2Eν).

    ``couplings`` = (g_V, g_A) overrides the SM values (the BSM layer shifts g_V).
    """
    g_v, g_a = electron_couplings(flavour, sin2_theta_w) if couplings is None else couplings
    e = np.asarray(neutrino_energy_MeV, dtype=float)
    t = np.asarray(recoil_energy_MeV, dtype=float)
    me = units.electron_mass_MeV
    y = t / e
    bracket = (
        (g_v + g_a) ** 2
        + (g_v - g_a) ** 2 * (1.0 - y) ** 2
        - (g_v**2 - g_a**2) * me * t / e**2
    )
    allowed = t <= 2.0 * e**2 / (me + 2.0 * e)
    pref = units.fermi_constant_per_MeV2**2 * me / (2.0 * np.pi)
    return units.per_MeV2_to_cm2(np.where(allowed, pref * bracket, 0.0))
