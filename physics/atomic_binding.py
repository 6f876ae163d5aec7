"""Atomic binding in neutrino–electron scattering: the stepping approximation.

Per atom, dσ/dT_e = Z_eff(T_e) × (free-electron dσ/dT_e), Z_eff(T) = number of electrons whose
binding energy is below T (Kopeikin et al., Phys. At. Nucl. 60 (1997) 1859; Chen et al.,
PLB 731 (2014) 159).

Binding energies of Cs, I and Ar: X-ray Data Booklet (LBNL, 2nd ed. 2001 / 3rd ed. 2009),
Table 1-1, "Electron binding energies", G.P. Williams (values from Bearden & Burr, Rev. Mod.
Phys. 39 (1967) 125; Cardona & Ley 1978; Fuggle & Mårtensson 1980), in eV, relative to the
vacuum level for Ar and to the Fermi level for the solids. Subshells the table does not list
(the valence 5s²5p⁵ of I and the 6s¹ of Cs) are bound below the lowest listed edge; they are
counted at T → 0, like the 4s²4p² of Ge in the reference analysis (docs/physics.md#atomic-binding).
Germanium keeps the steps of the reference analysis (docs/physics.md#atomic-binding), which are the
same table
with the two 3d levels (29.8, 29.2 eV) merged at 29.8 eV.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.errors import PhysicsInputError

# Subshell binding energies in eV and occupations (X-ray Data Booklet, Table 1-1).
# (subshell, binding energy eV, electrons); K=1s, L1=2s, L2=2p1/2, L3=2p3/2, M1=3s, ...
SUBSHELLS_eV: dict[str, tuple[tuple[str, float, int], ...]] = {
    "Ar": (
        ("K", 3205.9, 2), ("L1", 326.3, 2), ("L2", 250.6, 2), ("L3", 248.4, 4),
        ("M1", 29.3, 2), ("M2", 15.9, 2), ("M3", 15.7, 4),
    ),
    "I": (
        ("K", 33169.0, 2), ("L1", 5188.0, 2), ("L2", 4852.0, 2), ("L3", 4557.0, 4),
        ("M1", 1072.0, 2), ("M2", 931.0, 2), ("M3", 875.0, 4), ("M4", 630.8, 4),
        ("M5", 619.3, 6), ("N1", 186.0, 2), ("N2", 123.0, 2), ("N3", 123.0, 4),
        ("N4", 50.6, 4), ("N5", 48.9, 6),
        ("O1-O3 (5s2 5p5, not listed)", 0.0, 7),
    ),
    "Cs": (
        ("K", 35985.0, 2), ("L1", 5714.0, 2), ("L2", 5359.0, 2), ("L3", 5012.0, 4),
        ("M1", 1211.0, 2), ("M2", 1071.0, 2), ("M3", 1003.0, 4), ("M4", 740.5, 4),
        ("M5", 726.6, 6), ("N1", 232.3, 2), ("N2", 172.4, 2), ("N3", 161.3, 4),
        ("N4", 79.8, 4), ("N5", 77.5, 6), ("O1", 22.7, 2), ("O2", 14.2, 2), ("O3", 12.1, 4),
        ("P1 (6s1, not listed)", 0.0, 1),
    ),
}

ATOMIC_NUMBERS = {"Ge": 32, "Ar": 18, "I": 53, "Cs": 55}

# Germanium steps as in the reference analysis (docs/physics.md#atomic-binding): (threshold keV,
# Z_eff above it)
_GE_STEPS_keV = (
    (0.0, 4), (0.0298, 14), (0.1208, 18), (0.1249, 20), (0.1801, 22),
    (1.217, 26), (1.248, 28), (1.4146, 30), (11.11, 32),
)


def _steps_from_subshells(
    subshells: tuple[tuple[str, float, int], ...],
) -> tuple[tuple[float, int], ...]:
    """(threshold keV, Z_eff for T ≥ threshold), starting at 0 keV, from a subshell table."""
    edges = sorted({b for _, b, _ in subshells} | {0.0})
    return tuple(
        (round(e / 1e3, 7), sum(n for _, b, n in subshells if b <= e)) for e in edges
    )


ELEMENT_STEPS_keV: dict[str, tuple[tuple[float, int], ...]] = {
    "Ge": _GE_STEPS_keV,
    **{el: _steps_from_subshells(sh) for el, sh in SUBSHELLS_eV.items()},
}


def effective_electron_count(element: str, recoil_energy_MeV: ArrayLike) -> NDArray:
    """Z_eff(T): electrons of ``element`` with binding energy ≤ T (T in MeV; 0 for T < 0).

    Elements: ``Ge`` (reference-analysis steps), ``Cs``, ``I``, ``Ar`` (X-ray Data Booklet).

    Examples
    --------
    >>> effective_electron_count("Ge", [0.0, 0.05e-3, 2e-3, 20e-3]).tolist()  # T in MeV
    [4.0, 14.0, 30.0, 32.0]
    """
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
