"""Dresden-II detector response: resolution, quadrature grids and response matrices
(docs/experiments/dresden_ii.md#response).

Resolution (Colaresi et al. arXiv:2202.09672; docs/experiments/dresden_ii.md#response): Gaussian in
the observed ionisation
energy with σ(E_ee)² = σ_n² + η F E_ee, σ_n = 68.5 eV, η = 2.96 eV, F = 0.11. By default the
Gaussian is truncated at E_obs = 0 and renormalised over E_obs > 0 (weight
2/(1 + erf(E_ee/(√2σ)))), as in the reference analysis; ``truncate_resolution=False`` keeps the
plain Gaussian. Recoils are integrated from E_ee = 3 eV upwards.

P(bin | E_ee) = [Φ((hi − E_ee)/σ) − Φ((lo − E_ee)/σ)] / [1 − Φ(−E_ee/σ)] (truncated case),
Φ the standard normal CDF, exact per bin (no sampling of the Gaussian).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

NOISE_SIGMA_keV = 0.0685  # σ_n
PAIR_ENERGY_keV = 2.96e-3  # η, energy per electron-hole pair in Ge
FANO_FACTOR = 0.11  # F
# recoils integrated from E_ee = 3 eV (docs/experiments/dresden_ii.md#response)
MIN_IONISATION_keV = 3e-3


def resolution_sigma_keV(e_ee_keV: NDArray) -> NDArray:
    """σ(E_ee) = sqrt(σ_n² + η F E_ee) in keV."""
    e = np.clip(np.asarray(e_ee_keV, dtype=float), 0.0, None)
    return np.sqrt(NOISE_SIGMA_keV**2 + PAIR_ENERGY_keV * FANO_FACTOR * e)


def bin_probabilities(
    e_ee_keV: NDArray, bin_edges_keV: NDArray, *, truncate_resolution: bool = True
) -> NDArray:
    """P(bin | E_ee) for deposited energies (n,) and bin edges (n_bins+1,) → (n, n_bins)."""
    e = np.asarray(e_ee_keV, dtype=float)[:, None]
    sigma = resolution_sigma_keV(e)
    cdf = ndtr((np.asarray(bin_edges_keV, dtype=float)[None, :] - e) / sigma)
    prob = np.diff(cdf, axis=1)
    if truncate_resolution:
        prob = prob / (1.0 - ndtr(-e / sigma))
    return np.clip(prob, 0.0, None)


def gauss_legendre_panels(breakpoints: NDArray, n_per_panel: int) -> tuple[NDArray, NDArray]:
    """Composite Gauss–Legendre nodes and weights on consecutive [breakpoints[i], [i+1]]."""
    x, w = np.polynomial.legendre.leggauss(n_per_panel)
    lo, hi = np.asarray(breakpoints[:-1]), np.asarray(breakpoints[1:])
    half = 0.5 * (hi - lo)[:, None]
    nodes = (0.5 * (hi + lo))[:, None] + half * x[None, :]
    weights = half * w[None, :]
    return nodes.ravel(), weights.ravel()


def log_panels(lo: float, hi: float, n_panels: int, extra: NDArray | None = None) -> NDArray:
    """Geometric panel edges between lo and hi, with extra breakpoints (e.g. kinks) inserted."""
    edges = np.geomspace(lo, hi, n_panels + 1)
    if extra is not None:
        extra = np.asarray(extra, dtype=float)
        edges = np.unique(np.concatenate([edges, extra[(extra > lo) & (extra < hi)]]))
    return edges
