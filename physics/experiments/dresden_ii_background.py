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

Profiling is batched: a projected Levenberg–Marquardt on the seven parameters, vectorised over
the signals (per-signal damping, accept/reject, bounds by projection and freezing of parameters
held at a bound by their gradient), started from the background-only best fit shifted by the
linear response of θ to the signal, with a second start at the background-only fit where the
first one ends above it. Speed: the Jacobian is J = T(θ)·U with five per-signal shapes and two
fixed ones in U: JᵀJ = T (UUᵀ) Tᵀ from a 5×5 Gram and 5×2 cross products per signal; the
Gaussians and exponentials on the uniform bins are built from short tables of exponentials and
one running product (no exp per bin); trial points get the residual only. The tests compare it
with iminuit on random signals.
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
        self._weighted_rate = self.rate * self.inv_sigma
        steps = np.diff(self.energy_keV)
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise PhysicsInputError("Dresden-II bins must be uniform (10 eVee)")
        self._step_keV = float(steps[0])
        n_bins = self.rate.size
        n_lo = next(k for k in range(int(np.ceil(np.sqrt(n_bins))), n_bins + 1) if n_bins % k == 0)
        self._idx_lo = np.arange(n_lo, dtype=float)
        self._idx_hi = n_lo * np.arange(n_bins // n_lo, dtype=float)
        self._const_basis = np.stack([self.inv_sigma, self._kappa_w])  # (2, nb)
        self._const_gram = self._const_basis @ self._const_basis.T
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
        """Weighted residual r = (n − S − b)/σ (N, nb) and J = ∂b/∂θ / σ (N, 7, nb).

        Direct formula, one exp per bin and shape: the reference for tests and ``chi2_at``;
        the fit itself uses ``_evaluate`` and ``_normal_equations``.
        """
        e = self.energy_keV
        h, c, w, a, b, cexp, a_m = (theta[:, i : i + 1] for i in range(7))
        with np.errstate(under="ignore"):
            g1 = np.exp(-0.5 * (e - c) ** 2 / w**2)
            g2 = L2_RELATIVE_HEIGHT * np.exp(-0.5 * self._d2sq / w**2)
            ex = np.exp(-cexp * e)
        m = self._kappa  # M shape per unit (a_M w h)
        model = a + b * ex + h * (g1 + g2) + (h * a_m * w) * m
        r = (self.rate - signal - model) * self.inv_sigma
        if not jacobian:
            return r, None
        jac = np.stack([
            g1 + g2 + (a_m * w) * m,
            h * g1 * (e - c) / w**2,
            h * (g1 * (e - c) ** 2 + g2 * self._d2sq) / w**3 + (h * a_m) * m,
            np.ones_like(g1),
            ex,
            -b * e * ex,
            (h * w) * m,
        ], axis=1)
        return r, jac * self.inv_sigma

    @staticmethod
    def _pull(theta: NDArray) -> NDArray:
        return ((theta[:, _AM] - 1.0) / A_M_PULL_SIGMA) ** 2

    # --- fast path: structured model evaluation for the fit ---------------------------------
    def _geometric_fast(self, log_first: NDArray, log_ratio: NDArray) -> NDArray:
        """exp(log_first + i·log_ratio), i = 0…n−1, rows (N,) → (N, n), from two short tables.

        i = k·n_lo + j: exp(a + b·k·n_lo) · exp(b·j) (n_lo·n_hi = n): n_lo + n_hi exponentials
        per row instead of n, each entry exact to two roundings (no accumulated error).
        """
        hi = np.exp(log_first[:, None] + log_ratio[:, None] * self._idx_hi)
        lo = np.exp(log_ratio[:, None] * self._idx_lo)
        return (hi[:, :, None] * lo[:, None, :]).reshape(log_first.shape[0], -1)

    def _evaluate(self, signal_w: NDArray, theta: NDArray) -> tuple[NDArray, tuple]:
        """Weighted residual r = (n − S − b)/σ (N, nb) and the shapes (÷σ) for the Jacobian."""
        e0, step = self.energy_keV[0], self._step_keV
        h, c, w, a, b, cexp, a_m = theta.T
        inv_w = 1.0 / w
        z0 = (e0 - c) * inv_w
        z1 = (self.energy_keV[-1] - c) * inv_w
        t = step * inv_w
        # L1 Gaussian by the ratio recursion g_{i+1} = g_i exp(−(z0 t + t²/2) − i t²), whose
        # ratios form a geometric sequence; exact to ~n ε. L2/L1 = exp(linear in E).
        l2_0 = (L2_CENTRE_keV - c) * (2 * e0 - c - L2_CENTRE_keV) * (0.5 * inv_w * inv_w)
        l2_1 = (L2_CENTRE_keV - c) * (2 * self.energy_keV[-1] - c - L2_CENTRE_keV) * (
            0.5 * inv_w * inv_w)
        fast = (np.maximum(np.abs(z0), np.abs(z1)) < 36.0) & (np.maximum(np.abs(l2_0),
                                                                        np.abs(l2_1)) < 600.0)
        if fast.all():
            g1 = self._geometric_fast(-(z0 * t + 0.5 * t * t) + t * t, -t * t)
            g1[:, 0] = np.exp(-0.5 * z0 * z0)
            np.cumprod(g1, axis=1, out=g1)
            g2 = self._geometric_fast(l2_0 + np.log(L2_RELATIVE_HEIGHT),
                                      (L2_CENTRE_keV - c) * step * inv_w * inv_w)
            g2 *= g1
        else:
            d1 = self.energy_keV - c[:, None]
            g1 = np.exp(-0.5 * (d1 * inv_w[:, None]) ** 2)
            g2 = L2_RELATIVE_HEIGHT * np.exp(-0.5 * self._d2sq * (inv_w * inv_w)[:, None])
        g1 *= self.inv_sigma
        g2 *= self.inv_sigma
        ux = self._geometric_fast(-cexp * e0, -cexp * step)
        ux *= self.inv_sigma
        up = g1 + g2
        r = np.multiply(up, -h[:, None])
        r -= b[:, None] * ux
        r -= np.stack([a, h * a_m * w], axis=1) @ self._const_basis
        r -= signal_w
        r += self._weighted_rate
        return r, (g1, g2, ux, up)

    def _normal_equations(
        self, theta: NDArray, r: NDArray, shapes: tuple
    ) -> tuple[NDArray, NDArray]:
        """Gram JᵀJ (N, 7, 7) and Jᵀr (N, 7) from the structure J = T(θ) U.

        U = (u_P, u_D1, u_D2, u_X, u_XE, 1/σ, κ/σ): five shapes per signal and two fixed ones;
        T(θ) holds the per-signal coefficients (module docstring: ∂b/∂θ).
        """
        g1, g2, ux, up = shapes
        n = theta.shape[0]
        h, c, w, _, b, _, a_m = theta.T
        basis = np.empty((n, 5, self.rate.size))
        basis[:, 0] = up
        d1 = self.energy_keV - c[:, None]
        np.multiply(g1, d1, out=basis[:, 1])          # g1 d1
        np.multiply(basis[:, 1], d1, out=basis[:, 2])  # g1 d1²
        basis[:, 2] += g2 * self._d2sq
        basis[:, 3] = ux
        np.multiply(ux, self.energy_keV, out=basis[:, 4])
        gram_u = np.empty((n, 7, 7))
        gram_u[:, :5, :5] = np.vecdot(basis[:, :, None, :], basis[:, None, :, :])
        cross = np.vecdot(basis[:, :, None, :], self._const_basis)
        gram_u[:, :5, 5:] = cross
        gram_u[:, 5:, :5] = cross.transpose(0, 2, 1)
        gram_u[:, 5:, 5:] = self._const_gram
        grad_u = np.empty((n, 7))
        grad_u[:, :5] = np.vecdot(basis, r[:, None, :])
        grad_u[:, 5:] = r @ self._const_basis.T
        # T: rows θ = (h, c, w, A, B, C, a_M), columns U
        tm = np.zeros((n, 7, 7))
        inv_w2 = 1.0 / (w * w)
        tm[:, _H, 0] = 1.0
        tm[:, _H, 6] = a_m * w
        tm[:, _CC, 1] = h * inv_w2
        tm[:, _W, 2] = h * inv_w2 / w
        tm[:, _W, 6] = h * a_m
        tm[:, _A, 5] = 1.0
        tm[:, _B, 3] = 1.0
        tm[:, _C, 4] = -b
        tm[:, _AM, 6] = h * w
        gram = tm @ gram_u @ tm.transpose(0, 2, 1)
        grad = (tm @ grad_u[:, :, None])[:, :, 0]
        return gram, grad

    def _fit(
        self, signal: NDArray, theta: NDArray, *, max_iter: int = 60, tol: float = 1e-6
    ) -> tuple[NDArray, NDArray]:
        """Projected Gauss–Newton / Levenberg–Marquardt, vectorised over the first axis.

        Each signal keeps its own damping λ (0 while Gauss–Newton steps lower χ², raised on a
        failed step) and stops when the predicted gain of its next step is below ``tol``
        (Gauss–Newton prediction gᵀδ, exact for the local quadratic model). Trial points get
        the residual only; the Gram matrix is built for the signals that go on.
        """
        theta = np.clip(theta.copy(), LOWER, UPPER)
        n = theta.shape[0]
        signal_w = signal * self.inv_sigma
        r, shapes = self._evaluate(signal_w, theta)
        chi2 = np.einsum("ij,ij->i", r, r) + self._pull(theta)
        gram, grad = self._normal_equations(theta, r, shapes)
        lam = np.zeros(n)
        last_gain = np.full(n, np.inf)
        pull_w = 1.0 / A_M_PULL_SIGMA**2
        eye = np.eye(7)
        active = np.arange(n)
        for _ in range(max_iter):
            if active.size == 0:
                break
            th = theta[active]
            rhs = grad.copy()  # = −½ ∂χ²/∂θ (descent direction)
            rhs[:, _AM] -= pull_w * (th[:, _AM] - 1.0)
            mat = gram.copy()
            mat[:, _AM, _AM] += pull_w
            # freeze parameters held at a bound by the gradient
            frozen = ((th <= LOWER) & (rhs < 0)) | ((th >= UPPER) & (rhs > 0))
            diag = np.einsum("nii->ni", mat)
            # relative ridge: keeps huge, far-excluded signals (diagonal entries ~1e30 next to
            # vanishing peak columns) numerically non-singular
            ridge = 1e-12 * (1.0 + diag.max(axis=1, keepdims=True))
            mat += (lam[active, None] * diag + ridge)[:, :, None] * eye
            if frozen.any():
                mat = np.where(frozen[:, :, None] | frozen[:, None, :], 0.0, mat)
                mat += frozen[:, :, None] * eye
                rhs = np.where(frozen, 0.0, rhs)
            try:
                step = np.linalg.solve(mat, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:  # a singular row left: least-squares steps (SVD)
                step = np.matmul(np.linalg.pinv(mat), rhs[..., None])[..., 0]
            converged = np.einsum("ni,ni->n", step, rhs) < tol
            keep = ~converged
            active, th, step = active[keep], th[keep], step[keep]
            gram, grad = gram[keep], grad[keep]
            if active.size == 0:
                break
            trial = np.clip(th + step, LOWER, UPPER)
            r_t, shapes_t = self._evaluate(signal_w[active], trial)
            chi2_t = np.einsum("ij,ij->i", r_t, r_t) + self._pull(trial)
            old = chi2[active]
            better = chi2_t < old
            theta[active] = np.where(better[:, None], trial, th)
            chi2[active] = np.where(better, chi2_t, old)
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
            go = ~stop
            active, better = active[go], better[go]
            gram, grad = gram[go], grad[go]
            upd = np.nonzero(better)[0]
            if upd.size:
                sel = np.nonzero(go)[0][upd]
                gram[upd], grad[upd] = self._normal_equations(
                    trial[sel], r_t[sel], tuple(x[sel] for x in shapes_t))
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
