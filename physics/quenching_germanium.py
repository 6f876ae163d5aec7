"""Germanium ionisation quenching: E_ee = Q(T)·T for nuclear recoils
(docs/experiments/dresden_ii.md#response).

Choices:

- ``fef`` and ``ybe``: the two models of Collar, Kavner, Lewis, PRD 103, 122003 (2021),
  arXiv:2102.10089 (iron-filtered neutron beam; ⁸⁸Y/Be photo-neutrons), tabulated in
  ``dresden-ii/QF_Fef_YBe.txt`` for 0–4.5 keVnr and interpolated linearly in T. Above the table
  both follow the Lindhard form with the k that makes Q continuous at 4.5 keVnr (a documented
  choice: k = 0.157 for Fef, whose column *is* Lindhard k = 0.157 above ≈ 1.34 keVnr; k ≈ 0.164
  for YBe, which approaches Lindhard with k ≈ 0.16, docs/experiments/dresden_ii.md#data; a jump to
  k = 0.157 would make E_ee(T) drop by 4 % at 4.5 keVnr). Recoils above 4.5 keVnr need
  Eν > 12 MeV, beyond every reactor spectrum used here, so this choice does not change rates.
- ``lindhard``: Q = k g(ε)/(1 + k g(ε)), g = 3ε^0.15 + 0.7ε^0.6 + ε, ε = 11.5 Z^{-7/3} T[keV],
  Z = 32, k = 0.157 (Lindhard et al., Mat. Fys. Medd. Dan. Vid. Selsk. 33, 10 (1963); the
  parametrisation of Lewin & Smith, Astropart. Phys. 6 (1996) 87, Eq. 4.3).

Note (a property of the released table, kept): the Fef E_ee(T) = Q·T is not monotonic between
≈ 1.15 and ≈ 1.34 keVnr (Q = 0.4361 − 0.192 T falls faster than 1/T there), a ≈ 3 % dip.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics.data import data_path
from nubound.physics.errors import DataFileError, PhysicsInputError

QUENCHING_CHOICES = ("fef", "ybe", "lindhard")
GERMANIUM_Z = 32
LINDHARD_K_GERMANIUM = 0.157  # docs/experiments/dresden_ii.md#response
QF_TABLE_KEY = "dresden-ii/QF_Fef_YBe.txt"


def lindhard_quenching_factor(
    recoil_energy_keV: ArrayLike, *, k: float = LINDHARD_K_GERMANIUM, Z: int = GERMANIUM_Z
) -> NDArray:
    """Lindhard Q(T) (module docstring); T in keVnr. Q → 0 as T → 0."""
    t = np.asarray(recoil_energy_keV, dtype=float)
    eps = 11.5 * Z ** (-7.0 / 3.0) * np.clip(t, 0.0, None)
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)


def read_quenching_table() -> tuple[NDArray, NDArray, NDArray]:
    """(T [keVnr], Q_Fef, Q_YBe) from the registry's ``QF_Fef_YBe.txt`` (451 rows)."""
    path = data_path(QF_TABLE_KEY)
    try:
        table = np.loadtxt(path)
    except ValueError as exc:
        raise DataFileError(f"{QF_TABLE_KEY}: cannot parse ({exc})") from None
    if table.ndim != 2 or table.shape[1] != 3 or np.any(np.diff(table[:, 0]) <= 0):
        raise DataFileError(f"{QF_TABLE_KEY}: expected 3 columns with increasing T")
    return table[:, 0], table[:, 1], table[:, 2]


@lru_cache(maxsize=1)
def _table() -> tuple[NDArray, NDArray, NDArray]:
    return read_quenching_table()


def quenching_factor(quenching: str, recoil_energy_keV: ArrayLike) -> NDArray:
    """Q(T) = E_ee/T for ``quenching`` in ``fef``, ``ybe``, ``lindhard``; T in keVnr."""
    t = np.asarray(recoil_energy_keV, dtype=float)
    if quenching == "lindhard":
        return lindhard_quenching_factor(t)
    if quenching not in QUENCHING_CHOICES:
        raise PhysicsInputError(
            f"unknown germanium quenching '{quenching}'; allowed: {', '.join(QUENCHING_CHOICES)}"
        )
    t_tab, fef, ybe = _table()
    column = fef if quenching == "fef" else ybe
    inside = np.interp(t, t_tab, column)
    # Lindhard k continuous with the table's last point: k g/(1 + k g) = Q_end
    q_end = column[-1]
    k_end = q_end / ((1.0 - q_end) * (lindhard_quenching_factor(t_tab[-1], k=1.0) / (
        1.0 - lindhard_quenching_factor(t_tab[-1], k=1.0))))
    return np.where(t > t_tab[-1], lindhard_quenching_factor(t, k=k_end), inside)


def ionisation_energy_keV(quenching: str, recoil_energy_keV: ArrayLike) -> NDArray:
    """E_ee = Q(T)·T in keVee for nuclear recoils of T keVnr."""
    t = np.asarray(recoil_energy_keV, dtype=float)
    return quenching_factor(quenching, t) * t


def recoil_energy_for_ionisation_keV(quenching: str, e_ee_keV: float) -> float:
    """Smallest T [keVnr] with Q(T)·T = ``e_ee_keV`` (bisection on a fine grid, then refined)."""
    grid = np.geomspace(1e-6, 50.0, 20001)
    e = ionisation_energy_keV(quenching, grid)
    above = np.nonzero(e >= e_ee_keV)[0]
    if above.size == 0 or above[0] == 0:
        raise PhysicsInputError(f"E_ee = {e_ee_keV} keVee outside 0–50 keVnr for {quenching}")
    lo, hi = grid[above[0] - 1], grid[above[0]]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ionisation_energy_keV(quenching, mid) >= e_ee_keV:
            hi = mid
        else:
            lo = mid
    return hi
