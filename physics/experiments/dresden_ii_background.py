"""Dresden-II Rx-ON background model and its exactly profiled, batched χ²
(docs/experiments/dresden_ii.md#likelihood).

Background rate per 10 eVee per day at ionisation energy E [keVee], as in the reference analysis
(arXiv:2202.10829, following the fit of Colaresi et al. arXiv:2202.09672):

    b(E; θ) = A + B e^{−C E}
              + h [ G(E; c, w) + 0.008 G(E; 1.142 keV, w) + (0.16 a_M w/σ_n) G(E; 0.158 keV, σ_n) ]

with G(E; μ, s) = exp(−(E − μ)²/2s²): the ⁷¹Ge L1 electron-capture peak (height h, centre c,
width w), the L2 peak (0.008 h at 1.142 keV) and the M peak (width σ_n, area M/L1 = 0.16 a_M).
θ = (h, c, w, A, B, C, a_M), bounds h ∈ [0, 150], c ∈ [0.5, 1.5], w ∈ (0, 4], A, B, C ≥ 0,
a_M ∈ [0, 1.5], Gaussian pull (a_M − 1)²/0.03².

χ²(S) = min_θ Σ_i (n_i − S_i − b_i(θ))²/σ_i² + (a_M − 1)²/0.03², all in counts/(10 eV · day).

Profiling is exact and batched: a projected Levenberg–Marquardt on the seven parameters per
signal, compiled (``dresden_ii_kernel``; the loop over a whole block of signals runs inside
one call), started from the background-only best fit shifted by the linear response of θ to the
signal, with a second start at the background-only fit where the first one ends above it. The
tests compare it with iminuit on random signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import dresden_ii_kernel as kernel

PARAMETER_NAMES = ("h", "c", "w", "A", "B", "C", "a_M")
# σ_n, electronic noise (arXiv:2202.09672; docs/experiments/dresden_ii.md#response)
NOISE_SIGMA_keV = 0.0685
L2_CENTRE_keV = 1.142
L2_RELATIVE_HEIGHT = 0.008
M_CENTRE_keV = 0.158
M_TO_L1_AREA = 0.16
A_M_PULL_SIGMA = 0.03
LOWER = np.array([0.0, 0.5, 1e-4, 0.0, 0.0, 0.0, 0.0])
UPPER = np.array([150.0, 1.5, 4.0, np.inf, np.inf, np.inf, 1.5])
_BACKGROUND_START = np.array([80.0, 1.297, 0.05, 15.0, 150.0, 5.0, 1.0])  # near the data's fit


def background_rate(theta: NDArray, energy_keV: NDArray) -> NDArray:
    """b(E; θ) in counts/(10 eV · day) for θ (..., 7) → (..., nE) (module docstring)."""
    th = np.asarray(theta, dtype=float)[..., None]
    e = np.asarray(energy_keV, dtype=float)
    h, c, w, a, b, cexp, a_m = (th[..., i, :] for i in range(7))
    peaks = (
        np.exp(-((e - c) ** 2) / (2 * w**2))
        + L2_RELATIVE_HEIGHT * np.exp(-((e - L2_CENTRE_keV) ** 2) / (2 * w**2))
        + M_TO_L1_AREA * a_m * w / NOISE_SIGMA_keV
        * np.exp(-((e - M_CENTRE_keV) ** 2) / (2 * NOISE_SIGMA_keV**2))
    )
    return a + b * np.exp(-cexp * e) + h * peaks


@dataclass(frozen=True)
class ProfileResult:
    """Profiled χ² and the best-fit nuisances θ̂ (..., 7) in the order of PARAMETER_NAMES."""

    chi2: NDArray
    theta: NDArray


class ProfiledChi2:
    """Batched, exactly profiled Gaussian χ² of docs/experiments/dresden_ii.md#likelihood on rates
    per 10 eV per day.

    Parameters
    ----------
    energy_keV, rate, sigma : (n_bins,) arrays
        Uniform bin centres, observed rates and their released errors (counts/(10 eV·day)).
    """

    def __init__(self, energy_keV: NDArray, rate: NDArray, sigma: NDArray) -> None:
        self.energy_keV = np.asarray(energy_keV, dtype=float)
        self.rate = np.asarray(rate, dtype=float)
        self.inv_sigma = 1.0 / np.asarray(sigma, dtype=float)
        steps = np.diff(self.energy_keV)
        if steps.size == 0 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise PhysicsInputError("Dresden-II bins must be uniform (10 eVee)")
        kappa = M_TO_L1_AREA / NOISE_SIGMA_keV * np.exp(
            -((self.energy_keV - M_CENTRE_keV) ** 2) / (2 * NOISE_SIGMA_keV**2))
        # layout of dresden_ii_kernel: E, 1/σ, n/σ, κ/σ, (E − E₂)²
        self._grid = np.ascontiguousarray(np.stack([
            self.energy_keV, self.inv_sigma, self.rate * self.inv_sigma, kappa * self.inv_sigma,
            (self.energy_keV - L2_CENTRE_keV) ** 2]))
        zero = np.zeros((1, self.rate.size))
        chi2, theta = self._kernel_fit(zero, _BACKGROUND_START[None])
        self.theta0 = theta[0]
        self._chi2_theta0 = float(chi2[0])
        jac_r = np.empty((1, 8, self.rate.size))
        kernel.jacobian_block(zero, theta, self._grid, L2_CENTRE_keV, L2_RELATIVE_HEIGHT, jac_r)
        jac, self._r0 = jac_r[0, :7], jac_r[0, 7].copy()
        # linear response of θ̂ to the signal at the background-only fit (first Gauss–Newton
        # step): δθ = G⁻¹ Jᵀ δr with δr = −S/σ, G = JJᵀ + pull  →  δθ = −G⁻¹ J (S/σ)
        gram = jac @ jac.T + np.diag([0, 0, 0, 0, 0, 0, 1 / A_M_PULL_SIGMA**2])
        self._response = -np.linalg.solve(gram, jac)  # (7, nb), acts on S/σ

    def _kernel_fit(self, signal: NDArray, start: NDArray) -> tuple[NDArray, NDArray]:
        """One fit per signal from the given starts (no second start): (N, nb), (N, 7)."""
        n = signal.shape[0]
        chi2, theta = np.empty(n), np.empty((n, 7))
        kernel.fit_block(np.ascontiguousarray(signal, dtype=float),
                         np.ascontiguousarray(start, dtype=float), self._grid, LOWER, UPPER,
                         L2_CENTRE_keV, L2_RELATIVE_HEIGHT, A_M_PULL_SIGMA, chi2, theta)
        return chi2, theta

    def profile(self, signal: NDArray) -> ProfileResult:
        """Profile θ for signals (..., n_bins) in counts/(10 eV · day)."""
        s = np.asarray(signal, dtype=float)
        if s.ndim == 0 or s.shape[-1] != self.rate.size:
            raise PhysicsInputError(
                f"Dresden-II signal must have shape (..., {self.rate.size}), got {s.shape}"
            )
        batch = s.shape[:-1]
        flat = np.ascontiguousarray(s.reshape(-1, self.rate.size))
        chi2, theta = np.empty(flat.shape[0]), np.empty((flat.shape[0], 7))
        kernel.profile_block(flat, self.theta0, self._response, self._r0, self._chi2_theta0,
                             self._grid, LOWER, UPPER, L2_CENTRE_keV, L2_RELATIVE_HEIGHT,
                             A_M_PULL_SIGMA, chi2, theta)
        return ProfileResult(chi2.reshape(batch), theta.reshape(batch + (7,)))

    def __call__(self, signal: NDArray) -> NDArray:
        """χ² profiled over θ for signals (..., n_bins) → (...)."""
        return self.profile(signal).chi2

    def chi2_at(self, signal: NDArray, theta: NDArray) -> NDArray:
        """Unprofiled χ² at given θ (direct formula, for tests): (N, nb), (N, 7) → (N,)."""
        sig, th = np.atleast_2d(signal), np.atleast_2d(theta)
        with np.errstate(under="ignore"):
            r = (self.rate - sig - background_rate(th, self.energy_keV)) * self.inv_sigma
        return np.einsum("ij,ij->i", r, r) + ((th[:, -1] - 1.0) / A_M_PULL_SIGMA) ** 2
