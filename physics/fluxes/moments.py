"""Flux moments M_k(T) = ∫_{Eν_min(T)}^∞ dΦ/dEν Eν^{-k} dEν, k = 0, 1, 2.

Every cross section nubound uses is, at fixed recoil energy T, a combination of 1, 1/Eν and
1/Eν² (the CEvNS, ν–e, magnetic-moment and scalar kinematic factors), so these three moments
on the recoil grid carry all the flux information an experiment's rate needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import cumulative_trapezoid

N_MOMENTS = 3


def tabulated_flux_moments(
    energy_MeV: ArrayLike, flux_per_MeV: ArrayLike, min_energy_MeV: ArrayLike
) -> NDArray:
    """Moments of a tabulated spectrum (trapezoid rule, linear in the spectrum).

    Parameters
    ----------
    energy_MeV, flux_per_MeV : (nE,) arrays
        A fine, increasing grid and dΦ/dEν on it (any fluence unit per MeV).
    min_energy_MeV : (nT,) array
        Lower integration limits, Eν_min(T).

    Returns
    -------
    (3, nT) array: M_0, M_1, M_2 in the flux unit × MeV^{-k}.
    """
    e = np.asarray(energy_MeV, dtype=float)
    phi = np.asarray(flux_per_MeV, dtype=float)
    emin = np.asarray(min_energy_MeV, dtype=float)
    out = np.empty((N_MOMENTS, emin.size))
    for k in range(N_MOMENTS):
        with np.errstate(divide="ignore", invalid="ignore"):
            integrand = phi * e ** (-k)
        if k > 0 and e[0] == 0.0:
            # node at Eν = 0: take the finite limit of φ Eν^-k by linear extrapolation
            integrand[0] = 2.0 * integrand[1] - integrand[2]
        # upper tail integral from each grid node to the last one
        cum = cumulative_trapezoid(integrand, e, initial=0.0)
        tail = cum[-1] - cum
        # exact piece between emin and the next grid node (linear interpolation of integrand)
        j = np.clip(np.searchsorted(e, emin, side="right"), 1, e.size - 1)
        f_lo = np.interp(emin, e, integrand)
        inside = (emin >= e[0]) & (emin < e[-1])
        partial = 0.5 * (f_lo + integrand[j]) * (e[j] - emin) + tail[j]
        below = emin < e[0]
        out[k] = np.where(inside, partial, np.where(below, cum[-1], 0.0))
    return out


def line_flux_moments(
    line_energy_MeV: float, fluence: float, min_energy_MeV: ArrayLike
) -> NDArray:
    """Moments of a monochromatic line of total ``fluence`` at ``line_energy_MeV``: (3, nT)."""
    emin = np.asarray(min_energy_MeV, dtype=float)
    above = (emin <= line_energy_MeV).astype(float)
    powers = line_energy_MeV ** -np.arange(N_MOMENTS, dtype=float)
    return fluence * powers[:, None] * above[None, :]
