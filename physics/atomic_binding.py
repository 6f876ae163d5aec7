"""Atomic binding in neutrino–electron scattering: the stepping approximation.

Per atom, dσ/dT_e = Z_eff(T_e) × (free-electron dσ/dT_e), Z_eff(T) = number of electrons whose
binding energy is below T (Kopeikin et al., Phys. At. Nucl. 60 (1997) 1859; Chen et al.,
PLB 731 (2014) 159).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.errors import PhysicsInputError

# Germanium steps as in the reference analysis (physics.md §3): (threshold keV, Z_eff above it)
_GE_STEPS_keV = (
    (0.0, 4), (0.0298, 14), (0.1208, 18), (0.1249, 20), (0.1801, 22),
    (1.217, 26), (1.248, 28), (1.4146, 30), (11.11, 32),
)

ELEMENT_STEPS_keV: dict[str, tuple[tuple[float, int], ...]] = {"Ge": _GE_STEPS_keV}


def effective_electron_count(element: str, recoil_energy_MeV: ArrayLike) -> NDArray:
    """Z_eff(T): electrons of ``element`` with binding energy below T (T in MeV)."""
    try:
        steps = ELEMENT_STEPS_keV[element]
    except KeyError:
        raise PhysicsInputError(
            f"no binding energies for element '{element}'; allowed: "
            + ", ".join(sorted(ELEMENT_STEPS_keV))
        ) from None
    edges_keV = np.array([s[0] for s in steps])
    counts = np.array([s[1] for s in steps], dtype=float)
    t_keV = np.asarray(recoil_energy_MeV, dtype=float) * 1e3
    idx = np.searchsorted(edges_keV, t_keV, side="right") - 1
    return np.where(idx >= 0, counts[np.clip(idx, 0, None)], 0.0)
