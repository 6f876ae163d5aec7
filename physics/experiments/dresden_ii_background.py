"""Dresden-II Rx-ON background model and its exactly profiled, batched χ² (physics.md §6–7).

Background rate per 10 eVee per day at ionisation energy E [keVee], as in the reference analysis
(arXiv:2202.10829, following the fit of Colaresi et al. arXiv:2202.09672):

    b(E; θ) = A + B e^{−C E}
              + h [ G(E; c, w) + 0.008 G(E; 1.142 keV, w) + (0.16 a_M w/σ_n) G(E; 0.158 keV, σ_n) ]

with G(E; μ, s) = exp(−(E − μ)²/2s²): the ⁷¹Ge L1 electron-capture peak (height h, centre c,
width w), the L2 peak (0.008 h at 1.142 keV) and the M peak (width σ_n, area M/L1 = 0.16 a_M).
θ = (h, c, w, A, B, C, a_M), bounds h ∈ [0, 150], c ∈ [0.5, 1.5], w ∈ (0, 4], A, B, C ≥ 0,
a_M ∈ [0, 1.5], Gaussian pull (a_M − 1)²/0.03².

χ²(S) = min_θ Σ_i (n_i − S_i − b_i(θ))²/σ_i² + (a_M − 1)²/0.03², all in counts/(10 eV · day).

Profiling is batched: a projected Levenberg–Marquardt on the seven parameters with the analytic
Jacobian, vectorised over the signals (per-signal damping, accept/reject, bounds by projection
and freezing of parameters held at a bound by their gradient), started from the background-only
best fit shifted by the linear response of θ to the signal, and, where cheaper minima exist,
also from a second start with the exponential switched off; the best of the starts is kept.
The tests compare it with iminuit on random signals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from nubound.physics.errors import PhysicsInputError

PARAMETER_NAMES = ("h", "c", "w", "A", "B", "C", "a_M")
NOISE_SIGMA_keV = 0.0685  # σ_n, electronic noise (arXiv:2202.09672; physics.md §6)
L2_CENTRE_keV = 1.142
L2_RELATIVE_HEIGHT = 0.008
M_CENTRE_keV = 0.158
M_TO_L1_AREA = 0.16
A_M_PULL_SIGMA = 0.03
LOWER = np.array([0.0, 0.5, 1e-4, 0.0, 0.0, 0.0, 0.0])
UPPER = np.array([150.0, 1.5, 4.0, np.inf, np.inf, np.inf, 1.5])
_H, _CC, _W, _A, _B, _C, _AM = range(7)
_CHUNK = 256


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
    """Batched, exactly profiled Gaussian χ² of physics.md §6 on rates per 10 eV per day.

    Parameters
    ----------
    energy_keV, rate, sigma : (n_bins,) arrays
        Bin centres, observed rates and their released errors (counts/(10 eV·day)).
    """

    def __init__(self, energy_keV: NDArray, rate: NDArray, sigma: NDArray) -> None:
        self.energy_keV = np.asarray(energy_keV, dtype=float)
        self.rate = np.asarray(rate, dtype=float)
        self.inv_sigma = 1.0 / np.asarray(sigma, dtype=float)
        m_shape = np.exp(-((self.energy_keV - M_CENTRE_keV) ** 2) / (2 * NOISE_SIGMA_keV**2))
        self._kappa = M_TO_L1_AREA / NOISE_SIGMA_keV * m_shape
        self._kappa_w = self._kappa * self.inv_sigma
        self._d2sq = (self.energy_keV - L2_CENTRE_keV) ** 2
        self._e_w = self.energy_keV * self.inv_sigma
        self._weighted_rate = self.rate * self.inv_sigma
        steps = np.diff(self.energy_keV)
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise PhysicsInputError("Dresden-II bins must be uniform (10 eVee)")
        self._step_keV = float(steps[0])
        start = np.array([80.0, 1.297, 0.05, 15.0, 150.0, 5.0, 1.0])
        self.theta0 = self._fit(np.zeros((1, self.rate.size)), start[None, :])[1][0]
        # linear response of θ̂ to the signal at the background-only fit (first GN step)
        _, jac = self._residual_and_jacobian(np.zeros((1, self.rate.size)), self.theta0[None])
        self._r0 = self._residual_and_jacobian(
            np.zeros((1, self.rate.size)), self.theta0[None], jacobian=False)[0][0]
        self._chi2_theta0 = float(self._r0 @ self._r0 + self._pull(self.theta0[None])[0])
        jac = jac[0]  # (7, nb)
        gram = jac @ jac.T + np.diag([0, 0, 0, 0, 0, 0, 1 / A_M_PULL_SIGMA**2])
        # Gauss–Newton: δθ = G⁻¹ Jᵀ δr, δr = −S/σ  →  δθ = −G⁻¹ J (S/σ)
        self._response = -np.linalg.solve(gram, jac).T  # (nb, 7), acts on S/σ

    # ----------------------------------------------------------------------------------------
    def _residual_and_jacobian(
        self, signal: NDArray, theta: NDArray, *, jacobian: bool = True
    ) -> tuple[NDArray, NDArray | None]:
        """Weighted residual r = (n − S − b)/σ (N, nb) and J = ∂b/∂θ / σ (N, 7, nb)."""
        e = self.energy_keV
        isg = self.inv_sigma
        h, c, w, a, b, cexp, a_m = (theta[:, i : i + 1] for i in range(7))
        d1 = e - c
        d1sq = d1 * d1
        inv_w2 = 1.0 / (w * w)
        g1 = np.exp(d1sq * (-0.5 * inv_w2))
        # L2 peak: G(E; 1.142, w) = G(E; c, w) · exp(linear in E), a geometric sequence on the
        # uniform bins (one multiply per bin instead of an exp); direct where G(E; c, w) could
        # underflow near 1.142 keV (w < 0.01 keV)
        lin0 = -(c - L2_CENTRE_keV) * (2 * e[0] - L2_CENTRE_keV - c) * (0.5 * inv_w2)
        with np.errstate(over="ignore", invalid="ignore"):
            g2 = self._geometric(lin0, -(c - L2_CENTRE_keV) * self._step_keV * inv_w2)
            g2 *= g1
        # rows where the recursion overflowed (far-off trial points) are computed directly too
        narrow = np.nonzero((w[:, 0] < 0.01) | ~np.isfinite(g2).all(axis=1))[0]
        if narrow.size:
            g2[narrow] = np.exp(-0.5 * inv_w2[narrow] * self._d2sq)
        g2 *= L2_RELATIVE_HEIGHT
        peaks = self._kappa * (a_m * w)
        peaks += g1
        peaks += g2
        ex = self._geometric(-cexp * e[0], -cexp * self._step_keV)  # exp(−C E)
        # r = (n − S − A − B e^{−CE} − h·peaks)/σ
        r = b * ex
        r += h * peaks
        r += a
        r += signal
        r *= -isg
        r += self._weighted_rate
        if not jacobian:
            return r, None
        jac = np.empty((r.shape[0], 7, r.shape[1]))
        np.multiply(peaks, isg, out=jac[:, _H])
        hw = (h * inv_w2) * isg
        np.multiply(g1, d1, out=jac[:, _CC])
        jac[:, _CC] *= hw
        g1 *= d1sq
        g2 *= self._d2sq
        g1 += g2
        np.multiply(g1, hw / w, out=jac[:, _W])
        jac[:, _W] += (h * a_m) * self._kappa_w
        jac[:, _A] = isg
        np.multiply(ex, isg, out=jac[:, _B])
        np.multiply(ex, self._e_w, out=jac[:, _C])
        jac[:, _C] *= -b
        np.multiply(self._kappa_w, h * w, out=jac[:, _AM])
        return r, jac

    def _geometric(self, log_first: NDArray, log_ratio: NDArray) -> NDArray:
        """exp(log_first + i·log_ratio) on the bins i = 0…n−1, rows (N, 1) → (N, n)."""
        seq = np.empty((log_first.shape[0], self.rate.size))
        seq[:, :1] = np.exp(log_first)
        seq[:, 1:] = np.exp(log_ratio)
        return np.cumprod(seq, axis=1)

    @staticmethod
    def _pull(theta: NDArray) -> NDArray:
        return ((theta[:, _AM] - 1.0) / A_M_PULL_SIGMA) ** 2

    def _fit(
        self, signal: NDArray, theta: NDArray, *, max_iter: int = 60, tol: float = 1e-6
    ) -> tuple[NDArray, NDArray]:
        """Projected Gauss–Newton / Levenberg–Marquardt, vectorised over the first axis.

        Each signal keeps its own damping λ (0 while Gauss–Newton steps lower χ², raised on a
        failed step) and stops when the predicted gain of its next step is below ``tol``
        (Gauss–Newton prediction gᵀδ, exact for the local quadratic model).
        """
        theta = np.clip(theta.copy(), LOWER, UPPER)
        n = theta.shape[0]
        r, jac = self._residual_and_jacobian(signal, theta)
        chi2 = np.einsum("ij,ij->i", r, r) + self._pull(theta)
        lam = np.zeros(n)
        last_gain = np.full(n, np.inf)
        pull_w = 1.0 / A_M_PULL_SIGMA**2
        eye = np.eye(7)
        active = np.arange(n)
        for _ in range(max_iter):
            if active.size == 0:
                break
            th = theta[active]
            grad = (jac @ r[:, :, None])[:, :, 0]  # = −½ ∂χ²/∂θ (descent direction)
            grad[:, _AM] -= pull_w * (th[:, _AM] - 1.0)
            gram = jac @ jac.transpose(0, 2, 1)
            gram[:, _AM, _AM] += pull_w
            # freeze parameters held at a bound by the gradient
            frozen = ((th <= LOWER) & (grad < 0)) | ((th >= UPPER) & (grad > 0))
            diag = np.einsum("nii->ni", gram)
            mat = gram + (lam[active, None] * diag + 1e-12)[:, :, None] * eye
            mat = np.where(frozen[:, :, None] | frozen[:, None, :], 0.0, mat)
            mat += frozen[:, :, None] * eye
            rhs = np.where(frozen, 0.0, grad)
            step = np.linalg.solve(mat, rhs[..., None])[..., 0]
            converged = np.einsum("ni,ni->n", step, rhs) < tol
            keep = ~converged
            active, th, step = active[keep], th[keep], step[keep]
            if active.size == 0:
                break
            trial = np.clip(th + step, LOWER, UPPER)
            r_t, jac_t = self._residual_and_jacobian(signal[active], trial)
            chi2_t = np.einsum("ij,ij->i", r_t, r_t) + self._pull(trial)
            old = chi2[active]
            better = chi2_t < old
            theta[active] = np.where(better[:, None], trial, th)
            chi2[active] = np.where(better, chi2_t, old)
            r, jac = r[keep], jac[keep]
            r[better] = r_t[better]
            jac[better] = jac_t[better]
            lam_a = lam[active]
            lam[active] = np.where(better, lam_a * 0.1, np.maximum(lam_a * 10.0, 1e-3))
            # done: two full Gauss–Newton steps in a row whose gains g₁, g₂ shrink geometrically
            # with a remaining gain g₂ ρ/(1 − ρ), ρ = g₂/g₁, below tol; or damping so large
            # that no step lowers χ² (a bound or a flat direction)
            gain = np.where(better & (lam_a == 0.0), old - chi2_t, np.inf)
            prev = last_gain[active]
            finite = np.isfinite(gain) & np.isfinite(prev) & (prev > 0.0)
            rho = np.divide(gain, prev, out=np.ones_like(gain), where=finite)
            rho = np.where(finite & (rho < 0.5), rho, 0.5)
            remaining = np.where(finite, gain, np.inf) * rho / (1.0 - rho)
            stop = (remaining < tol) | (lam[active] > 1e8)
            last_gain[active] = gain
            active, r, jac = active[~stop], r[~stop], jac[~stop]
        return chi2, theta

    # ----------------------------------------------------------------------------------------
    def profile(self, signal: NDArray) -> ProfileResult:
        """Profile θ for signals (..., n_bins) in counts/(10 eV · day)."""
        s = np.asarray(signal, dtype=float)
        if s.ndim == 0 or s.shape[-1] != self.rate.size:
            raise PhysicsInputError(
                f"Dresden-II signal must have shape (..., {self.rate.size}), got {s.shape}"
            )
        batch = s.shape[:-1]
        flat = s.reshape(-1, self.rate.size)
        # chunks small enough for the (chunk, 7, 130) Jacobian to stay in cache
        chunks = [self._profile_flat(flat[i : i + _CHUNK]) for i in range(0, flat.shape[0], _CHUNK)]
        chi2 = np.concatenate([c for c, _ in chunks]) if chunks else np.zeros(0)
        theta = np.concatenate([t for _, t in chunks]) if chunks else np.zeros((0, 7))
        return ProfileResult(chi2.reshape(batch), theta.reshape(batch + (7,)))

    def _profile_flat(self, flat: NDArray) -> tuple[NDArray, NDArray]:
        start = np.clip(self.theta0 + (flat * self.inv_sigma) @ self._response, LOWER, UPPER)
        chi2, theta = self._fit(flat, start)
        # second start, the background-only best fit itself, where the first one ended high
        # (a safeguard; on 0–3× SM signals it never wins, see the tests)
        s_w = flat * self.inv_sigma  # χ² at θ0 = |r0 − S/σ|² + pull(θ0), no model evaluation
        chi2_0 = self._chi2_theta0 - 2.0 * (s_w @ self._r0) + np.einsum("ij,ij->i", s_w, s_w)
        redo = np.nonzero(chi2 > chi2_0 + 1e-6)[0]
        if redo.size:
            c_b, t_b = self._fit(flat[redo], np.broadcast_to(self.theta0, (redo.size, 7)))
            take = c_b < chi2[redo]
            chi2[redo] = np.where(take, c_b, chi2[redo])
            theta[redo] = np.where(take[:, None], t_b, theta[redo])
        return chi2, theta

    def __call__(self, signal: NDArray) -> NDArray:
        """χ² profiled over θ for signals (..., n_bins) → (...)."""
        return self.profile(signal).chi2

    def chi2_at(self, signal: NDArray, theta: NDArray) -> NDArray:
        """Unprofiled χ² at given θ (for tests and general minimizers): (N, nb), (N, 7) → (N,)."""
        sig, th = np.atleast_2d(signal), np.atleast_2d(theta)
        r, _ = self._residual_and_jacobian(sig, th, jacobian=False)
        return np.einsum("ij,ij->i", r, r) + self._pull(th)
