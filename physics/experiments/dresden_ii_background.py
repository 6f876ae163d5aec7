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

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError
from nubound.physics.experiments import dresden_ii_kernel as kernel
from nubound.physics.statistics.profile import ProfileResult

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


def _gaussian(energy_keV: NDArray, centre_keV, width_keV) -> NDArray:
    """G(E; μ, s) = exp(−(E − μ)²/2s²) (module docstring)."""
    return np.exp(-((energy_keV - centre_keV) ** 2) / (2 * width_keV**2))


def m_peak_per_unit_width(energy_keV: NDArray) -> NDArray:
    """κ(E) = (0.16/σ_n) G(E; 0.158 keV, σ_n): the M peak is h a_M w κ (module docstring)."""
    return M_TO_L1_AREA / NOISE_SIGMA_keV * _gaussian(np.asarray(energy_keV, dtype=float),
                                                      M_CENTRE_keV, NOISE_SIGMA_keV)


def background_components(theta: NDArray, energy_keV: NDArray) -> dict[str, NDArray]:
    """b(E; θ) split into its parts, counts/(10 eV · day), θ (..., 7) → (..., nE) each:
    ``continuum`` A + B e^{−CE}, ``ge71_l_peaks`` h [G(c, w) + 0.008 G(1.142 keV, w)],
    ``ge71_m_peak`` h a_M w κ (module docstring; the compiled fit,
    ``dresden_ii_kernel``, evaluates the same model and is tested against it)."""
    th = np.asarray(theta, dtype=float)[..., None]
    e = np.asarray(energy_keV, dtype=float)
    h, c, w, a, b, cexp, a_m = (th[..., i, :] for i in range(7))
    return {
        "continuum": a + b * np.exp(-cexp * e),
        "ge71_l_peaks": h * (_gaussian(e, c, w)
                             + L2_RELATIVE_HEIGHT * _gaussian(e, L2_CENTRE_keV, w)),
        "ge71_m_peak": h * a_m * w * m_peak_per_unit_width(e),
    }


def background_rate(theta: NDArray, energy_keV: NDArray) -> NDArray:
    """b(E; θ) in counts/(10 eV · day) for θ (..., 7) → (..., nE) (module docstring)."""
    parts = background_components(theta, energy_keV)
    return parts["continuum"] + parts["ge71_l_peaks"] + parts["ge71_m_peak"]


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
        kappa = m_peak_per_unit_width(self.energy_keV)
        # layout of dresden_ii_kernel: E, 1/σ, n/σ, κ/σ, (E − E₂)²
        self._background = kernel.Background(
            grid=np.ascontiguousarray(np.stack([
                self.energy_keV, self.inv_sigma, self.rate * self.inv_sigma,
                kappa * self.inv_sigma, (self.energy_keV - L2_CENTRE_keV) ** 2])),
            lower=LOWER, upper=UPPER, l2_centre_keV=float(L2_CENTRE_keV),
            l2_height=float(L2_RELATIVE_HEIGHT), pull_w=float(1.0 / A_M_PULL_SIGMA**2))
        zero = np.zeros((1, self.rate.size))
        fit = self._kernel_fit(zero, _BACKGROUND_START[None])
        self.theta0 = fit.theta[0]
        jac_r = np.empty((1, 8, self.rate.size))
        kernel.jacobian_block(zero, fit.theta, self._background, jac_r)
        jac = jac_r[0, :7]
        # linear response of θ̂ to the signal at the background-only fit (first Gauss–Newton
        # step): δθ = G⁻¹ Jᵀ δr with δr = −S/σ, G = JJᵀ + pull  →  δθ = −G⁻¹ J (S/σ)
        gram = jac @ jac.T + np.diag([0, 0, 0, 0, 0, 0, 1 / A_M_PULL_SIGMA**2])
        self._linearisation = kernel.Linearisation(
            theta=self.theta0, residual=jac_r[0, 7].copy(), chi2=float(fit.chi2[0]),
            response=-np.linalg.solve(gram, jac))  # (7, nb), acts on S/σ

    @staticmethod
    def _fits(n: int) -> kernel.Fits:
        """Empty outputs of the kernel for n signals."""
        return kernel.Fits(chi2=np.empty(n), theta=np.empty((n, 7)),
                           converged=np.empty(n, dtype=np.bool_))

    def _kernel_fit(self, signal: NDArray, start: NDArray) -> kernel.Fits:
        """One fit per signal from the given starts (no second start): (N, nb), (N, 7)."""
        out = self._fits(signal.shape[0])
        kernel.fit_block(np.ascontiguousarray(signal, dtype=float),
                         np.ascontiguousarray(start, dtype=float), self._background, out)
        return out

    def profile(self, signal: NDArray) -> ProfileResult:
        """Profile θ for signals (..., n_bins) in counts/(10 eV · day): χ² (...), θ̂ (..., 7)
        in the order of PARAMETER_NAMES, and whether each fit converged (module docstring
        of ``dresden_ii_kernel``)."""
        s = np.asarray(signal, dtype=float)
        if s.ndim == 0 or s.shape[-1] != self.rate.size:
            raise PhysicsInputError(
                f"Dresden-II signal must have shape (..., {self.rate.size}), got {s.shape}"
            )
        batch = s.shape[:-1]
        flat = np.ascontiguousarray(s.reshape(-1, self.rate.size))
        out = self._fits(flat.shape[0])
        kernel.profile_block(flat, self._background, self._linearisation, out)
        return ProfileResult(out.chi2.reshape(batch), out.theta.reshape(batch + (7,)),
                             out.converged.reshape(batch))

    def __call__(self, signal: NDArray) -> NDArray:
        """χ² profiled over θ for signals (..., n_bins) → (...)."""
        return self.profile(signal).chi2

    def chi2_at(self, signal: NDArray, theta: NDArray) -> NDArray:
        """Unprofiled χ² at given θ (direct formula, for tests): (N, nb), (N, 7) → (N,)."""
        sig, th = np.atleast_2d(signal), np.atleast_2d(theta)
        with np.errstate(under="ignore"):
            r = (self.rate - sig - background_rate(th, self.energy_keV)) * self.inv_sigma
        return np.einsum("ij,ij->i", r, r) + ((th[:, -1] - 1.0) / A_M_PULL_SIGMA) ** 2
