"""Nuclear form factors F(q) with F(0) = 1; momentum transfer q in MeV, radii in fm."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nubound.physics import units


def _j1_over_x(x: NDArray) -> NDArray:
    """3 j₁(x)/x with its x → 0 limit 1 (series below x = 1e-3)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    full = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    return np.where(small, 1.0 - x**2 / 10.0, full)


def momentum_transfer_MeV(recoil_energy_MeV: ArrayLike, nucleus_mass_MeV: float) -> NDArray:
    """|q| = sqrt(2 M T) for a nuclear recoil of kinetic energy T."""
    return np.sqrt(2.0 * nucleus_mass_MeV * np.asarray(recoil_energy_MeV, dtype=float))


def helm(q_MeV: ArrayLike, A: float, *, skin_fm: float = 0.9) -> NDArray:
    """Helm form factor (Lewin & Smith, Astropart. Phys. 6 (1996) 87, Eqs. 4.7–4.11).

    F(q) = 3 j₁(q r₀)/(q r₀) exp(−q²s²/2), r₀² = c² + 7/3 π² a² − 5 s²,
    c = 1.23 A^{1/3} − 0.60 fm, a = 0.52 fm, s = 0.9 fm.

    Examples
    --------
    >>> float(helm(0.0, 133))  # F(0) = 1
    1.0
    >>> 0.77 < float(helm(50.0, 133)) < 0.78  # Cs at q = 50 MeV
    True
    """
    q_fm = np.asarray(q_MeV, dtype=float) / units.hbar_c_MeV_fm
    c = 1.23 * A ** (1.0 / 3.0) - 0.60
    a = 0.52
    r0 = np.sqrt(c**2 + 7.0 / 3.0 * np.pi**2 * a**2 - 5.0 * skin_fm**2)
    return _j1_over_x(q_fm * r0) * np.exp(-((q_fm * skin_fm) ** 2) / 2.0)


def klein_nystrand(
    q_MeV: ArrayLike, A: float, *, radius_coefficient_fm: float = 1.23, range_fm: float = 0.7
) -> NDArray:
    """Klein–Nystrand form factor (Klein & Nystrand, PRC 60 (1999) 014903, Eq. 14).

    F(q) = 3 j₁(q R_A)/(q R_A) · 1/(1 + q² a_k²), R_A = r A^{1/3}; COHERENT uses r = 1.23 fm,
    the Dresden-II reference code r = 1.2 fm; a_k = 0.7 fm (Yukawa range).
    """
    q_fm = np.asarray(q_MeV, dtype=float) / units.hbar_c_MeV_fm
    radius = radius_coefficient_fm * A ** (1.0 / 3.0)
    return _j1_over_x(q_fm * radius) / (1.0 + (q_fm * range_fm) ** 2)


FORM_FACTORS = ("helm", "klein_nystrand")


def form_factor(name: str, q_MeV: ArrayLike, A: float, **options: float) -> NDArray:
    """Dispatch by name (``helm`` or ``klein_nystrand``)."""
    if name == "helm":
        return helm(q_MeV, A, **options)
    if name == "klein_nystrand":
        return klein_nystrand(q_MeV, A, **options)
    from nubound.physics.errors import PhysicsInputError

    raise PhysicsInputError(f"unknown form factor '{name}'; allowed: {', '.join(FORM_FACTORS)}")


def recoil_form_factor(
    name: str, recoil_energy_MeV: ArrayLike, nucleus_mass_MeV: float, A: float,
    options: dict | None = None,
) -> NDArray:
    """F(q) at the momentum transfer of a nuclear recoil of kinetic energy T (q² = 2 M T)."""
    q = momentum_transfer_MeV(recoil_energy_MeV, nucleus_mass_MeV)
    return form_factor(name, q, A, **(options or {}))
